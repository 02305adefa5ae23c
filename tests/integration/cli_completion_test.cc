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

}  // namespace
}  // namespace dblab::testing
