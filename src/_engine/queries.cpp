// One torrent's synchronous queries (files, trackers, pieces) and the session
// counters. Each copies the handle under the lock and asks libtorrent without
// it; they run on request for one torrent, never in a loop over torrents.
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <algorithm>

#include "lt_util.hpp"
#include "table.hpp"

namespace revaer {

bool Core::copy_handle(const std::string& h, Error& err, lt::torrent_handle& out) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return false;
    out = e->handle;
    return true;
}

std::vector<FileEntry> Core::files(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::vector<FileEntry> {
        std::vector<FileEntry> out;
        auto ti = th.torrent_file();
        if (!ti) return out;
        auto progress = th.file_progress(lt::torrent_handle::piece_granularity);
        auto prios = th.get_file_priorities();
        const lt::file_storage& fs = ti->files();
        for (lt::file_index_t i : fs.file_range()) {
            if (fs.pad_file_at(i)) continue;
            FileEntry f;
            f.index = static_cast<int>(i);
            f.path = fs.file_path(i);
            f.size = fs.file_size(i);
            f.offset = fs.file_offset(i);
            auto k = static_cast<std::size_t>(static_cast<int>(i));
            f.done = k < progress.size() ? std::min(progress[k], f.size) : 0;
            f.priority = k < prios.size() ? static_cast<int>(static_cast<std::uint8_t>(prios[k])) : 4;
            out.push_back(std::move(f));
        }
        return out;
    });
}

void Core::set_file_priorities(const std::string& h, const std::vector<std::pair<int, int>>& prios,
                               Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> void {
        auto ti = th.torrent_file();
        if (!ti) return err.set(ERR_FAILED, "the torrent has no metadata yet");
        int n = ti->num_files();
        for (const auto& p : prios) {
            if (p.first < 0 || p.first >= n) return err.set(ERR_INVALID, "file index out of range");
            if (p.second < 0 || p.second > 7) return err.set(ERR_INVALID, "file priority must be 0..7");
        }
        for (const auto& p : prios)
            th.file_priority(lt::file_index_t(p.first), lt::download_priority_t(static_cast<std::uint8_t>(p.second)));
    });
}

std::string Core::piece_states(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::string {
        std::string out;
        lt::torrent_status st = th.status(lt::torrent_handle::query_pieces);
        const int n = st.pieces.size();
        out.assign(static_cast<std::size_t>(n), '\0');
        for (int i = 0; i < n; ++i)
            if (st.pieces.get_bit(lt::piece_index_t(i))) out[static_cast<std::size_t>(i)] = 2;
        for (const auto& p : th.get_download_queue()) {
            int k = static_cast<int>(p.piece_index);
            if (k >= 0 && k < n && out[static_cast<std::size_t>(k)] == 0) out[static_cast<std::size_t>(k)] = 1;
        }
        return out;
    });
}

std::vector<std::string> Core::piece_hashes(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::vector<std::string> {
        std::vector<std::string> out;
        auto ti = th.torrent_file();
        if (!ti || !ti->info_hashes().has_v1()) return out;
        out.reserve(static_cast<std::size_t>(ti->num_pieces()));
        for (lt::piece_index_t i : ti->piece_range()) {
            lt::sha1_hash ph = ti->hash_for_piece(i);
            out.push_back(hex(ph.data(), ph.size()));
        }
        return out;
    });
}

std::vector<TrackerEntry> Core::trackers(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::vector<TrackerEntry> {
        std::vector<TrackerEntry> out;
        for (const auto& ae : th.trackers()) {
            TrackerEntry t;
            t.url = ae.url;
            t.tier = ae.tier;
            // One endpoint per listen socket: with the default 0.0.0.0 and [::], a tracker on
            // 127.0.0.1 is also announced from sockets that cannot reach it, which fail with
            // "skipping tracker announce (unreachable)" (IPv6) or "timed out" after 30 s (another
            // interface) while the loopback one works. As qBittorrent 4.6: updating if one endpoint
            // is, else working if one works (with the tracker's own message, not another
            // endpoint's error), else not working with the first error, a real one before a skip.
            bool updating = false, working = false, failed = false, skipped = false;
            std::string working_msg, error_msg, skipped_msg;
            for (const auto& ep : ae.endpoints) {
                for (const auto& ih : ep.info_hashes) {
                    t.seeds = std::max(t.seeds, ih.scrape_complete);
                    t.leeches = std::max(t.leeches, ih.scrape_incomplete);
                    t.downloaded = std::max(t.downloaded, ih.scrape_downloaded);
                    if (ih.last_error == lt::errors::announce_skipped) {
                        skipped = true;
                        if (skipped_msg.empty()) skipped_msg = ih.last_error.message();
                        continue;
                    }
                    if (ih.updating) updating = true;
                    if (ih.start_sent && !ih.last_error) {
                        working = true;
                        if (working_msg.empty()) working_msg = ih.message;
                    }
                    if (ih.fails > 0 || ih.last_error) {
                        failed = true;
                        if (error_msg.empty())
                            error_msg = ih.last_error ? ih.last_error.message() : ih.message;
                    }
                }
            }
            if (updating) {
                t.status = 3;
            } else if (working) {
                t.status = 2;
                t.message = working_msg;
            } else if (failed || skipped) {
                t.status = 4;
                t.message = failed ? error_msg : skipped_msg;
            } else {
                t.status = 1;
            }
            out.push_back(std::move(t));
        }
        return out;
    });
}

SessionStats Core::stats() {
    std::lock_guard<std::mutex> lock(mu_);
    SessionStats s = stats_;
    s.num_torrents = static_cast<int>(table_->size());
    return s;
}

}  // namespace revaer
