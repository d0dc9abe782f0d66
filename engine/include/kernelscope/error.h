// The one exception type the engine throws: its message is a single line meant for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace ks {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a run whose RunOptions::cancel was set: not a failure, the caller asked.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace ks
