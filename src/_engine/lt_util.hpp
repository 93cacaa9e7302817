// Internal helpers of the C++ core that speak libtorrent: hashes, times, the
// Row builders and settings. Included by the .cpp files only, never by Cython.
#pragma once

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/info_hash.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/time.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core.hpp"

namespace revaer {

namespace lt = libtorrent;

std::string hex(const char* p, std::size_t n);
// qBittorrent's torrent id: the v1 hash, or the v2 hash truncated to 20 bytes; 40 hex.
std::string key_of(const lt::info_hash_t& ih);
// 64 hex, or empty for a v1-only torrent.
std::string v2_of(const lt::info_hash_t& ih);
bool sha1_from_hex(const std::string& h, lt::sha1_hash& out);
std::int64_t posix_now();
// Any limit <= 0 means none, as libtorrent and qBittorrent take it; rows show UNLIMITED then.
inline int limit_or_unlimited(int value) { return value > 0 ? value : UNLIMITED; }

// libtorrent throws "invalid torrent handle" when another thread removed the torrent after its
// handle was copied: that is the torrent not found, not a failure of the engine.
template <typename F>
auto Core::query(const std::string& h, Error& err, F&& f)
    -> decltype(f(std::declval<lt::torrent_handle&>())) {
    using Result = decltype(f(std::declval<lt::torrent_handle&>()));
    lt::torrent_handle th;
    if (!copy_handle(h, err, th)) return Result();
    try {
        return f(th);
    } catch (const lt::system_error& e) {
        if (e.code() != lt::errors::invalid_torrent_handle) throw;
        err.set(ERR_NOT_FOUND, "unknown torrent: " + h);
        return Result();
    }
}

// Resume data as stored: libtorrent's own, plus the time it was written (kSavedAtKey), so a restore
// can tell whether the payload files changed after it (a crash mid-download).
std::string encode_resume(const lt::add_torrent_params& atp);
// A restore's add_torrent_params from stored resume data: when files of an unfinished torrent are
// newer than the data, its have-bitfield is dropped so libtorrent checks the files (see util.cpp).
// Returns whether it was dropped.
bool distrust_stale_pieces(const std::string& resume, lt::add_torrent_params& atp);

// Copies settings by name into `pack`; ERR_INVALID for an unknown name or a wrong type.
void fill_pack(lt::settings_pack& pack, const std::vector<Setting>& settings, Error& err);

// The Row builders: every field of a Row is filled by these three, nowhere else.
// The first row of a torrent, from what it was added with.
Row row_from_params(const lt::add_torrent_params& atp, const std::string& key, bool auto_managed);
// The row after a state_update_alert: libtorrent's status, plus what the status does not carry
// (limits, trackers) kept from the previous row.
Row row_from_status(const lt::torrent_status& st, const Row& old);
// What the info dictionary says (name, sizes, pieces, files, privacy, its trackers).
void fill_metadata(Row& row, const lt::torrent_info& ti);

}  // namespace revaer
