// Builds error Statuses from message parts: "<who>: part part ...". One formatter for every adapter, so
// messages read the same whichever runtime shows them.
#pragma once

#include <sstream>
#include <utility>

#include "encexport/params.h"

namespace encexport {

template <typename... Args>
Status format_error(const char* who, Args&&... parts) {
  std::ostringstream os;
  os << who << ": ";
  (os << ... << std::forward<Args>(parts));
  return Status::Error(os.str());
}

}  // namespace encexport
