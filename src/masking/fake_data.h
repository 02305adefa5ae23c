// Built-in word lists for dblab's fake-data masking functions (fake_first_name, fake_email, ...).
// Common given names, family names, street and city names: public, not anyone's personal data.
// The lists are fixed: changing one changes every masked value (the key picks an index), so
// masked data stays stable across refreshes only while the lists do.
#pragma once

#include <span>
#include <string_view>

namespace dblab::fake_data {

std::span<const std::string_view> FirstNames();
std::span<const std::string_view> LastNames();
std::span<const std::string_view> StreetNames();
std::span<const std::string_view> StreetSuffixes();
std::span<const std::string_view> Cities();
std::span<const std::string_view> CompanyWords();
std::span<const std::string_view> CompanySuffixes();
std::span<const std::string_view> EmailDomains();  // reserved example domains only

}  // namespace dblab::fake_data
