// The versioned status table: one entry per torrent, keyed by info-hash, each
// holding the torrent's latest immutable Row. Every publication bumps one
// version counter; entries are linked in publication order (newest last) and
// removals leave tombstones, so changed_since() visits only what changed.
// Not thread-safe: Core calls it under its mutex. Internal (includes libtorrent).
#pragma once

#include <libtorrent/torrent_handle.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core.hpp"

namespace revaer {

struct Entry {
    libtorrent::torrent_handle handle;
    bool has_handle = false;  // false until the add_torrent_alert (or a lookup) gave one
    RowPtr row;
    bool auto_managed = false;  // what resume() restores after pause() cleared it
    bool was_complete = false;  // a torrent_finished_alert for it is not a new completion
    // A write failed for lack of space (libtorrent then stops downloading: upload mode, or an
    // error): Core::retry_disk_full() tries again once there is room, from this steady-clock time.
    bool disk_full = false;
    std::int64_t disk_retry_at_ms = 0;
    std::string disk_error;  // the write error that set disk_full: what the row says meanwhile
    bool user_paused = false;  // paused by pause(), not by libtorrent: a disk retry leaves it paused
    // Added from (or restored with) its .torrent file, which the caller keeps: resume data is saved
    // without the info dictionary.
    bool info_elsewhere = false;
    std::string last_error;  // the last error reported for it (each is reported once, not per block)
    Entry* older = nullptr;     // publication order (StatusTable::oldest_ .. newest_)
    Entry* newer = nullptr;
};

class StatusTable {
public:
    // The entry for `h`, or null.
    Entry* find(const std::string& h);
    bool contains(const std::string& h) const { return entries_.count(h) != 0; }
    std::size_t size() const { return entries_.size(); }
    // Takes ownership of `e` and publishes its first row.
    Entry& insert(const std::string& h, std::unique_ptr<Entry> e, Row&& row);
    // Makes `row` the entry's current row, with the next version.
    void publish(Entry& e, Row&& row);
    // Removes `h` (if present) and leaves a tombstone.
    void drop(const std::string& h);
    void clear();

    std::vector<RowPtr> snapshot() const;
    RowPtr get(const std::string& h) const;
    Changes changed_since(std::int64_t since) const;
    std::int64_t version() const { return version_; }

    template <typename F>
    void for_each(F&& f) {
        for (auto& kv : entries_) f(kv.first, *kv.second);
    }

private:
    void unlink(Entry& e);

    std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;
    Entry* oldest_ = nullptr;
    Entry* newest_ = nullptr;
    std::vector<std::pair<std::int64_t, std::string>> tombstones_;
    std::int64_t tomb_floor_ = 0;
    std::int64_t version_ = 0;
};

}  // namespace revaer
