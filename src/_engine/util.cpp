// Hashes, times and settings for the C++ core. See lt_util.hpp.
#include <climits>

#include "lt_util.hpp"

namespace revaer {

namespace {

int unhex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The type a setting's value must have, and the Setting::kind that carries it.
bool kind_matches(int type, const Setting& s, Error& err) {
    const char* want = type == lt::settings_pack::string_type_base ? "a string"
                       : type == lt::settings_pack::int_type_base  ? "an integer"
                                                                   : "a boolean";
    int kind = type == lt::settings_pack::string_type_base ? Setting::STR
               : type == lt::settings_pack::int_type_base  ? Setting::INT
                                                           : Setting::BOOL;
    if (s.kind == kind) return true;
    err.set(ERR_INVALID, "engine setting " + s.name + " expects " + want);
    return false;
}

}  // namespace

std::string hex(const char* p, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        out[2 * i] = digits[c >> 4];
        out[2 * i + 1] = digits[c & 0xf];
    }
    return out;
}

std::string key_of(const lt::info_hash_t& ih) {
    lt::sha1_hash best = ih.get_best();
    return hex(best.data(), best.size());
}

std::string v2_of(const lt::info_hash_t& ih) {
    if (!ih.has_v2()) return {};
    return hex(ih.v2.data(), ih.v2.size());
}

bool sha1_from_hex(const std::string& h, lt::sha1_hash& out) {
    if (h.size() != 40) return false;
    for (std::size_t i = 0; i < 20; ++i) {
        int hi = unhex_digit(h[2 * i]), lo = unhex_digit(h[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[static_cast<int>(i)] = static_cast<char>((hi << 4) | lo);
    }
    return true;
}

std::int64_t posix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

void fill_pack(lt::settings_pack& pack, const std::vector<Setting>& settings, Error& err) {
    for (const auto& s : settings) {
        int idx = lt::setting_by_name(s.name);
        if (idx < 0) return err.set(ERR_INVALID, "unknown engine setting: " + s.name);
        int type = idx & lt::settings_pack::type_mask;
        if (!kind_matches(type, s, err)) return;
        if (type == lt::settings_pack::string_type_base) {
            pack.set_str(idx, s.s);
        } else if (type == lt::settings_pack::int_type_base) {
            if (s.i < INT_MIN || s.i > INT_MAX)
                return err.set(ERR_INVALID, "engine setting " + s.name + " is out of range");
            pack.set_int(idx, static_cast<int>(s.i));
        } else {
            pack.set_bool(idx, s.i != 0);
        }
    }
}

}  // namespace revaer
