// The one exception type the engine throws: its message is a single line meant for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace ks {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ks
