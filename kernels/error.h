// dr::Error and DR_CHECK: the one way this project reports bad use or bad input.
// Messages name the op or file and the offending shapes/values; file:line is appended.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace dr {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);

}  // namespace dr

// DR_CHECK(cond, "conv2d: input " << shape << " ...") throws dr::Error when cond is false.
#define DR_CHECK(cond, msg)                                 \
  do {                                                      \
    if (!(cond)) {                                          \
      std::ostringstream dr_os_;                            \
      dr_os_ << msg;                                        \
      ::dr::throw_error(__FILE__, __LINE__, dr_os_.str());  \
    }                                                       \
  } while (0)

#define DR_FAIL(msg) DR_CHECK(false, msg)
