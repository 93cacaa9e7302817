// Edits of one torrent beyond the commands (its tracker list, a file's path) and what qBittorrent's
// API reads from its .torrent (the file itself, its comment, creator and date). Each runs for one
// torrent on request, never in a loop over torrents.
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <algorithm>

#include "lt_util.hpp"
#include "table.hpp"

namespace revaer {

void Core::replace_trackers(const std::string& h, const std::vector<std::pair<std::string, int>>& trackers,
                            Error& err) {
    if (trackers.size() > MAX_TRACKERS) return err.set(ERR_INVALID, "too many trackers");
    for (const auto& t : trackers)
        if (t.first.empty()) return err.set(ERR_INVALID, "a tracker URL is empty");
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* found = find(h, err)) {
        Entry& e = *found;
        std::vector<lt::announce_entry> list;
        Row row = *e.row;
        row.tracker_urls.clear();
        for (const auto& t : trackers) {
            lt::announce_entry ae(t.first);
            ae.tier = static_cast<std::uint8_t>(std::clamp(t.second, 0, 255));
            list.push_back(std::move(ae));
            auto& urls = row.tracker_urls;
            if (std::find(urls.begin(), urls.end(), t.first) == urls.end()) urls.push_back(t.first);
        }
        row.num_trackers = static_cast<int>(row.tracker_urls.size());
        if (std::find(row.tracker_urls.begin(), row.tracker_urls.end(), row.current_tracker) ==
            row.tracker_urls.end())
            row.current_tracker.clear();
        e.handle.replace_trackers(list);
        table_->publish(e, std::move(row));
    }
}

void Core::rename_file(const std::string& h, int index, const std::string& path, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> void {
        auto ti = th.torrent_file();
        if (!ti) return err.set(ERR_FAILED, "the torrent has no metadata yet");
        if (index < 0 || index >= ti->num_files()) return err.set(ERR_INVALID, "file index out of range");
        if (path.empty()) return err.set(ERR_INVALID, "the new path is empty");
        th.rename_file(lt::file_index_t(index), path);
    });
}

std::string Core::torrent_file(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::string {
        lt::add_torrent_params atp;
        atp.ti = th.torrent_file_with_hashes();
        if (!atp.ti) {
            err.set(ERR_FAILED, "the torrent has no metadata yet");
            return {};
        }
        for (const auto& ae : th.trackers()) {
            atp.trackers.push_back(ae.url);
            atp.tracker_tiers.push_back(ae.tier);
        }
        for (const auto& url : th.url_seeds()) atp.url_seeds.push_back(url);
        std::vector<char> out = lt::write_torrent_file_buf(atp, lt::write_flags::allow_missing_piece_layer);
        return std::string(out.begin(), out.end());
    });
}

void Core::set_super_seeding(const std::string& h, bool on, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* e = find(h, err)) {
        if (on)
            e->handle.set_flags(lt::torrent_flags::super_seeding);
        else
            e->handle.unset_flags(lt::torrent_flags::super_seeding);
        Row row = *e->row;
        row.super_seeding = on;
        table_->publish(*e, std::move(row));
    }
}

void Core::set_first_last_priority(const std::string& h, bool on, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> void {
        auto ti = th.torrent_file();
        if (!ti) return err.set(ERR_FAILED, "the torrent has no metadata yet");
        // As qBittorrent: the first and last piece of every wanted file at the top priority (7), or
        // back to the file's own priority.
        const lt::file_storage& fs = ti->files();
        auto file_prios = th.get_file_priorities();
        std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> pieces;
        for (lt::file_index_t i : fs.file_range()) {
            if (fs.pad_file_at(i) || fs.file_size(i) == 0) continue;
            auto k = static_cast<std::size_t>(static_cast<int>(i));
            lt::download_priority_t own = k < file_prios.size() ? file_prios[k] : lt::default_priority;
            if (own == lt::dont_download) continue;
            lt::download_priority_t prio = on ? lt::top_priority : own;
            lt::piece_index_t first = fs.map_file(i, 0, 0).piece;
            lt::piece_index_t last = fs.map_file(i, std::max<std::int64_t>(0, fs.file_size(i) - 1), 0).piece;
            pieces.emplace_back(first, prio);
            if (last != first) pieces.emplace_back(last, prio);
        }
        th.prioritize_pieces(pieces);
    });
}

void Core::set_banned(const std::vector<std::string>& addresses, Error& err) {
    lt::ip_filter filter;
    for (const auto& text : addresses) {
        lt::error_code ec;
        auto addr = lt::make_address(text, ec);
        if (ec) return err.set(ERR_INVALID, "invalid address: " + text);
        filter.add_rule(addr, addr, lt::ip_filter::blocked);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return err.set(ERR_CLOSED, "engine is closed");
    ses_->set_ip_filter(std::move(filter));
}

namespace {

// qBittorrent's peer flags (PeerInfo::flags): what each side wants and where the peer came from.
std::string peer_flags(const lt::peer_info& p) {
    using pi = lt::peer_info;
    auto has = [&](lt::peer_flags_t f) { return bool(p.flags & f); };
    std::string out;
    if (has(pi::interesting)) out += has(pi::remote_choked) ? 'd' : 'D';
    if (has(pi::remote_interested)) out += has(pi::choked) ? 'u' : 'U';
    if (!has(pi::remote_choked) && !has(pi::interesting)) out += 'K';
    if (!has(pi::choked) && !has(pi::remote_interested)) out += '?';
    if (has(pi::snubbed)) out += 'S';
    if (!has(pi::local_connection)) out += 'I';
    if (has(pi::optimistic_unchoke)) out += 'O';
    if (has(pi::rc4_encrypted)) out += 'E';
    else if (has(pi::plaintext_encrypted)) out += 'e';
    if (has(pi::utp_socket)) out += 'P';
    if (p.source & pi::dht) out += 'H';
    if (p.source & pi::pex) out += 'X';
    if (p.source & pi::lsd) out += 'L';
    return out;
}

}  // namespace

PeerEntry::PeerEntry(const lt::peer_info& p)
    : ip(p.ip.address().to_string()), port(p.ip.port()), client(p.client), flags(peer_flags(p)),
      utp(bool(p.flags & lt::peer_info::utp_socket)), progress(p.progress), download_rate(p.payload_down_speed),
      upload_rate(p.payload_up_speed), downloaded(p.total_download), uploaded(p.total_upload) {}

std::vector<PeerEntry> Core::peers(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> std::vector<PeerEntry> {
        std::vector<PeerEntry> out;
        std::vector<lt::peer_info> infos;
        th.get_peer_info(infos);
        for (const auto& p : infos) {
            if (p.flags & (lt::peer_info::handshake | lt::peer_info::connecting)) continue;
            out.emplace_back(p);
        }
        return out;
    });
}

TorrentMeta Core::torrent_meta(const std::string& h, Error& err) {
    return query(h, err, [&](lt::torrent_handle& th) -> TorrentMeta {
        TorrentMeta m;
        auto ti = th.torrent_file();
        if (!ti) return m;
        m.comment = ti->comment();
        m.creator = ti->creator();
        m.creation_date = ti->creation_date() > 0 ? static_cast<std::int64_t>(ti->creation_date()) : -1;
        for (const auto& ws : ti->web_seeds()) m.web_seeds.push_back(ws.url);
        for (const auto& url : th.url_seeds())
            if (std::find(m.web_seeds.begin(), m.web_seeds.end(), url) == m.web_seeds.end()) m.web_seeds.push_back(url);
        return m;
    });
}

}  // namespace revaer
