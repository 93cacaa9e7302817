// Hashes, times and settings for the C++ core. See lt_util.hpp.
#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <sys/stat.h>

#include <chrono>
#include <climits>
#include <iterator>

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

// Our key in the resume dictionary (libtorrent ignores keys it does not know): microseconds since
// the epoch, on the wall clock, as file mtimes are.
constexpr char kSavedAtKey[] = "revaer-saved-at-us";

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The newest mtime (µs) among the torrent's payload files that exist; 0 when none does.
std::int64_t newest_payload_mtime(const lt::add_torrent_params& atp) {
    const lt::file_storage& fs = atp.ti->files();
    std::int64_t newest = 0;
    for (lt::file_index_t i : fs.file_range()) {
        if (fs.pad_file_at(i)) continue;
        auto renamed = atp.renamed_files.find(i);
        std::string rel = renamed != atp.renamed_files.end() ? renamed->second : fs.file_path(i);
        std::string path = !rel.empty() && rel[0] == '/' ? rel : atp.save_path + "/" + rel;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;
        std::int64_t us = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
        if (us > newest) newest = us;
    }
    return newest;
}

}  // namespace

std::string encode_resume(const lt::add_torrent_params& atp) {
    lt::entry e = lt::write_resume_data(atp);
    e[kSavedAtKey] = wall_us();
    std::string out;
    lt::bencode(std::back_inserter(out), e);
    return out;
}

bool distrust_stale_pieces(const std::string& resume, lt::add_torrent_params& atp) {
    // A finished torrent writes nothing more, and thousands of seeding torrents must restore
    // without a stat per file; a torrent without its info dictionary has no files to look at.
    if (!atp.ti || !atp.ti->is_valid() || atp.save_path.empty()) return false;
    if (atp.flags & lt::torrent_flags::seed_mode) return false;
    if (!atp.have_pieces.empty() && atp.have_pieces.all_set()) return false;
    lt::error_code ec;
    lt::bdecode_node root = lt::bdecode({resume.data(), static_cast<long>(resume.size())}, ec);
    // Data written before the stamp existed counts as older than any file.
    std::int64_t saved_at = !ec && root.type() == lt::bdecode_node::dict_t ? root.dict_find_int_value(kSavedAtKey, 0) : 0;
    std::int64_t newest = newest_payload_mtime(atp);
    if (newest == 0 || newest <= saved_at) return false;
    // Pieces were written after this data was saved (the process died before the next save):
    // without a have-bitfield libtorrent checks every existing file (need_full_check) and so
    // finds them, instead of downloading them again.
    atp.have_pieces.clear();
    atp.verified_pieces.clear();
    atp.unfinished_pieces.clear();
    return true;
}

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
