// Counts live native objects (rows, cores) so tests can assert nothing leaked.
#pragma once

#include <cstdint>

namespace revaer {

struct Counted {
    Counted() noexcept;
    Counted(const Counted&) noexcept;
    Counted& operator=(const Counted&) noexcept { return *this; }
    ~Counted();
};

std::int64_t live_objects();

}  // namespace revaer
