// `dblab completion bash` in a real bash, as a user's shell loads it.
#include <gtest/gtest.h>

#include "support.h"

namespace dblab::testing {
namespace {

// What bash offers after `dblab <words...>` with the cursor on the last (possibly empty) word.
std::string BashCompletes(const std::string& words) {
  std::string script =
      "source <(\"$0\" completion bash) || exit 1\n"
      "COMP_WORDS=(dblab " +
      words +
      ")\n"
      "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
      "_dblab\n"
      "echo \"${COMPREPLY[*]}\"\n";
  auto result = RunCommand({"/bin/bash", "-c", script, CliBinary()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out.substr(0, result.out.find('\n'));
}

TEST(CliCompletionTest, BashCompletesCommandsSubcommandsAndFlags) {
  EXPECT_EQ(BashCompletes("cl"), "clone");
  EXPECT_EQ(BashCompletes("clone re"), "reset");
  EXPECT_EQ(BashCompletes("clone create --user"), "--username");
  EXPECT_EQ(BashCompletes("--url http://x clone reset --la"), "--latest");
  EXPECT_EQ(BashCompletes("snapshot ''"), "list create delete --help -h");
}

// What `dblab completion zsh` hands to compadd after `dblab <words...>` with the cursor on the
// last word, run by a real zsh. compadd (which filters by the typed prefix) and compdef exist
// only inside zsh's completion system: stand-ins print the candidates instead.
std::string ZshCandidates(const std::string& words) {
  std::string script =
      "compadd() { [[ $1 == -- ]] && shift; print -r -- \"$*\"; }\n"
      "compdef() { print -r -- \"compdef $*\"; }\n"
      "source <(\"$0\" completion zsh) || exit 1\n"
      "words=(dblab " +
      words +
      ")\n"
      "CURRENT=${#words}\n"
      "_dblab\n";
  auto result = RunCommand({"/usr/bin/zsh", "-f", "-c", script, CliBinary()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.err.empty()) << result.err;
  return result.out;
}

TEST(CliCompletionTest, ZshRegistersAndOffersTheWordsOfTheCommandTyped) {
  std::string top = ZshCandidates("cl");
  EXPECT_NE(top.find("compdef _dblab dblab\n"), std::string::npos) << top;
  EXPECT_NE(top.find("clone"), std::string::npos) << top;
  EXPECT_NE(top.find("snapshot"), std::string::npos) << top;
  EXPECT_NE(ZshCandidates("clone re").find("reset"), std::string::npos);
  std::string create = ZshCandidates("clone create --user");
  EXPECT_NE(create.find("--username"), std::string::npos) << create;
  EXPECT_EQ(create.find("reset"), std::string::npos) << create;
  EXPECT_NE(ZshCandidates("--url http://x clone reset --la").find("--latest"), std::string::npos);
  std::string snapshot = ZshCandidates("snapshot ''");
  EXPECT_NE(snapshot.find("list create delete"), std::string::npos) << snapshot;
}

}  // namespace
}  // namespace dblab::testing
