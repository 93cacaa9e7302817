// The engine's C++ core. See core.hpp for the contract; the rules that keep it
// safe are: no alert pointer outlives drain()/shutdown(), no
// torrent_handle::status() in a loop (the table is fed by state_update_alert),
// and every method is called with the GIL released.
#include "core.hpp"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/announce_entry.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/version.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>

namespace lt = libtorrent;

namespace revaer {

namespace {

std::atomic<std::int64_t> g_live{0};

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
    // qBittorrent's torrent id: the v1 hash, or the v2 hash truncated to 20 bytes.
    lt::sha1_hash best = ih.get_best();
    return hex(best.data(), best.size());
}

std::string v2_of(const lt::info_hash_t& ih) {
    if (!ih.has_v2()) return {};
    return hex(ih.v2.data(), ih.v2.size());
}

int unhex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
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

std::int64_t to_posix(lt::time_point tp) {
    if (tp.time_since_epoch().count() == 0) return 0;
    auto ago = std::chrono::duration_cast<std::chrono::seconds>(lt::clock_type::now() - tp).count();
    return posix_now() - ago;
}

int revaer_state(const lt::torrent_status& st) {
    if (st.errc) return ST_ERROR;
    if (st.moving_storage) return ST_MOVING;
    if (st.flags & lt::torrent_flags::paused)
        return (st.flags & lt::torrent_flags::auto_managed) ? ST_QUEUED : ST_PAUSED;
    switch (st.state) {
        case lt::torrent_status::checking_files:
        case lt::torrent_status::checking_resume_data:
            return ST_CHECKING;
        case lt::torrent_status::downloading_metadata:
        case lt::torrent_status::downloading:
            return st.download_payload_rate > 0 ? ST_DOWNLOADING : ST_STALLED;
        case lt::torrent_status::finished:
            return ST_COMPLETED;
        case lt::torrent_status::seeding:
            return ST_SEEDING;
        default:
            return ST_DOWNLOADING;
    }
}

void fill_pack(lt::settings_pack& pack, const std::vector<Setting>& settings, Error& err) {
    for (const auto& s : settings) {
        int idx = lt::setting_by_name(s.name);
        if (idx < 0) {
            err.set(ERR_INVALID, "unknown engine setting: " + s.name);
            return;
        }
        int type = idx & lt::settings_pack::type_mask;
        if (type == lt::settings_pack::string_type_base) {
            if (s.kind != 0) {
                err.set(ERR_INVALID, "engine setting " + s.name + " expects a string");
                return;
            }
            pack.set_str(idx, s.s);
        } else if (type == lt::settings_pack::int_type_base) {
            if (s.kind != 1) {
                err.set(ERR_INVALID, "engine setting " + s.name + " expects an integer");
                return;
            }
            if (s.i < INT32_MIN || s.i > INT32_MAX) {
                err.set(ERR_INVALID, "engine setting " + s.name + " is out of range");
                return;
            }
            pack.set_int(idx, static_cast<int>(s.i));
        } else {
            if (s.kind != 2) {
                err.set(ERR_INVALID, "engine setting " + s.name + " expects a boolean");
                return;
            }
            pack.set_bool(idx, s.i != 0);
        }
    }
}

int count_trackers(const lt::add_torrent_params& atp) {
    std::set<std::string> urls(atp.trackers.begin(), atp.trackers.end());
    if (atp.ti)
        for (const auto& ae : atp.ti->trackers()) urls.insert(ae.url);
    return static_cast<int>(urls.size());
}

}  // namespace

std::int64_t live_objects() { return g_live.load(); }

Counted::Counted() noexcept { ++g_live; }
Counted::Counted(const Counted&) noexcept { ++g_live; }
Counted::~Counted() { --g_live; }

std::string libtorrent_version() { return lt::version(); }

struct Core::Entry {
    lt::torrent_handle handle;
    bool has_handle = false;
    RowPtr row;
    int upload_limit = -1;
    int download_limit = -1;
    int max_connections = -1;
    int num_trackers = 0;
    bool auto_managed = false;
    bool was_complete = false;
    Entry* older = nullptr;  // publication order (Core::oldest_ .. Core::newest_)
    Entry* newer = nullptr;
};

Core::Core() { ++g_live; }

Core::~Core() {
    if (ses_) {
        // Not closed through shutdown(): still never leave a session running.
        ses_->set_alert_notify([] {});
        ses_.reset();
    }
    if (fd_ >= 0) ::close(fd_);
    --g_live;
}

void Core::start(const std::vector<Setting>& settings, Error& err) {
    lt::settings_pack pack;
    // Defaults that make thousands of torrents fine; the caller's settings win.
    pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                                    lt::alert_category::storage);
    pack.set_int(lt::settings_pack::alert_queue_size, 1000000);
    pack.set_int(lt::settings_pack::active_downloads, -1);
    pack.set_int(lt::settings_pack::active_seeds, -1);
    pack.set_int(lt::settings_pack::active_limit, -1);
    pack.set_int(lt::settings_pack::active_tracker_limit, -1);
    pack.set_int(lt::settings_pack::active_dht_limit, -1);
    pack.set_int(lt::settings_pack::active_lsd_limit, -1);
    fill_pack(pack, settings, err);
    if (err.code) return;
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) {
        err.set(ERR_FAILED, std::string("eventfd: ") + std::strerror(errno));
        return;
    }
    lt::session_params params(std::move(pack));
    try {
        ses_ = std::make_unique<lt::session>(std::move(params));
    } catch (const std::exception& e) {
        err.set(ERR_FAILED, e.what());
        return;
    }
    int fd = fd_;
    // Runs on libtorrent's thread when the queue goes from empty to non-empty:
    // touch nothing but the eventfd.
    ses_->set_alert_notify([fd] {
        std::uint64_t one = 1;
        ssize_t r = ::write(fd, &one, sizeof one);
        (void)r;
    });
    idx_recv_payload_ = lt::find_metric_idx("net.recv_payload_bytes");
    idx_sent_payload_ = lt::find_metric_idx("net.sent_payload_bytes");
    idx_recv_ = lt::find_metric_idx("net.recv_bytes");
    idx_sent_ = lt::find_metric_idx("net.sent_bytes");
    idx_dht_ = lt::find_metric_idx("dht.dht_nodes");
    idx_peers_ = lt::find_metric_idx("peer.num_peers_connected");
}

void Core::apply_settings(const std::vector<Setting>& settings, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return err.set(ERR_CLOSED, "engine is closed");
    lt::settings_pack pack;
    fill_pack(pack, settings, err);
    if (err.code) return;
    ses_->apply_settings(std::move(pack));
}

int Core::listen_port(Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return 0;
    }
    return ses_->listen_port();
}

void Core::publish(Entry& e, Row&& row) {
    row.version = ++version_;
    e.row = std::make_shared<const Row>(std::move(row));
    if (newest_ == &e) return;
    unlink(e);
    e.older = newest_;
    if (newest_)
        newest_->newer = &e;
    else
        oldest_ = &e;
    newest_ = &e;
}

void Core::unlink(Entry& e) {
    if (e.older)
        e.older->newer = e.newer;
    else if (oldest_ == &e)
        oldest_ = e.newer;
    if (e.newer)
        e.newer->older = e.older;
    else if (newest_ == &e)
        newest_ = e.older;
    e.older = e.newer = nullptr;
}

Core::Entry* Core::find(const std::string& h, Error& err) {
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return nullptr;
    }
    auto it = table_.find(h);
    if (it == table_.end()) {
        err.set(ERR_NOT_FOUND, "unknown torrent: " + h);
        return nullptr;
    }
    Entry* e = it->second.get();
    if (!e->has_handle) {
        // Added a moment ago and its add_torrent_alert is not drained yet.
        lt::sha1_hash sha;
        if (sha1_from_hex(h, sha)) {
            lt::torrent_handle th = ses_->find_torrent(sha);
            if (th.is_valid()) {
                e->handle = th;
                e->has_handle = true;
            }
        }
        if (!e->has_handle) {
            err.set(ERR_FAILED, "torrent is still being added: " + h);
            return nullptr;
        }
    }
    return e;
}

std::string Core::add(const AddSpec& spec, Error& err) {
    lt::add_torrent_params atp;
    lt::error_code ec;
    if (!spec.resume.empty()) {
        atp = lt::read_resume_data({spec.resume.data(), static_cast<long>(spec.resume.size())}, ec);
        if (ec) {
            err.set(ERR_INVALID, "invalid resume data: " + ec.message());
            return {};
        }
    } else if (!spec.torrent.empty()) {
        auto ti = std::make_shared<lt::torrent_info>(
            lt::span<const char>(spec.torrent.data(), static_cast<long>(spec.torrent.size())), ec,
            lt::from_span);
        if (ec) {
            err.set(ERR_INVALID, "invalid torrent file: " + ec.message());
            return {};
        }
        atp.ti = std::move(ti);
    } else if (!spec.magnet.empty()) {
        lt::parse_magnet_uri(spec.magnet, atp, ec);
        if (ec) {
            err.set(ERR_INVALID, "invalid magnet link: " + ec.message());
            return {};
        }
    } else {
        err.set(ERR_INVALID, "nothing to add: give a magnet link, torrent file or resume data");
        return {};
    }
    lt::info_hash_t ih = atp.ti ? atp.ti->info_hashes() : atp.info_hashes;
    if (!ih.has_v1() && !ih.has_v2()) {
        err.set(ERR_INVALID, !spec.magnet.empty()   ? "invalid magnet link: missing info-hash"
                             : !spec.resume.empty() ? "invalid resume data: missing info-hash"
                                                    : "invalid torrent file: missing info-hash");
        return {};
    }
    if (!spec.save_path.empty()) atp.save_path = spec.save_path;
    if (atp.save_path.empty()) {
        err.set(ERR_INVALID, "a save path is required");
        return {};
    }
    if (!spec.name.empty() && !atp.ti) atp.name = spec.name;
    if (spec.paused == 1) {
        atp.flags |= lt::torrent_flags::paused;
    } else if (spec.paused == 0) {
        atp.flags &= ~lt::torrent_flags::paused;
    }
    bool auto_managed = spec.resume.empty() ? spec.auto_managed != 0
                                            : bool(atp.flags & lt::torrent_flags::auto_managed);
    if (spec.auto_managed >= 0 && spec.resume.empty()) auto_managed = spec.auto_managed != 0;
    if (auto_managed)
        atp.flags |= lt::torrent_flags::auto_managed;
    else
        atp.flags &= ~lt::torrent_flags::auto_managed;
    if (spec.sequential == 1) atp.flags |= lt::torrent_flags::sequential_download;
    if (spec.sequential == 0) atp.flags &= ~lt::torrent_flags::sequential_download;
    if (spec.seed_mode == 1) atp.flags |= lt::torrent_flags::seed_mode;
    atp.flags |= lt::torrent_flags::duplicate_is_error;
    if (spec.upload_limit >= 0 || spec.resume.empty()) atp.upload_limit = spec.upload_limit;
    if (spec.download_limit >= 0 || spec.resume.empty()) atp.download_limit = spec.download_limit;
    if (spec.max_connections >= 0 || spec.resume.empty()) atp.max_connections = spec.max_connections;

    std::string key = key_of(ih);
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return {};
    }
    if (table_.count(key)) {
        err.set(ERR_DUPLICATE, "torrent already exists: " + key);
        return {};
    }
    auto entry = std::make_unique<Entry>();
    entry->upload_limit = atp.upload_limit;
    entry->download_limit = atp.download_limit;
    entry->max_connections = atp.max_connections;
    entry->num_trackers = count_trackers(atp);
    entry->auto_managed = auto_managed;
    entry->was_complete = atp.completed_time > 0;

    Row row;
    row.info_hash = key;
    row.info_hash_v2 = v2_of(ih);
    row.name = atp.ti ? atp.ti->name() : (atp.name.empty() ? key : atp.name);
    row.save_path = atp.save_path;
    row.has_metadata = bool(atp.ti);
    if (atp.ti) {
        row.total_size = atp.ti->total_size();
        row.total_wanted = row.total_size;
        row.piece_length = atp.ti->piece_length();
        row.num_pieces = atp.ti->num_pieces();
        row.num_files = atp.ti->num_files();
        row.is_private = atp.ti->priv();
    }
    row.paused = bool(atp.flags & lt::torrent_flags::paused);
    row.auto_managed = auto_managed;
    row.sequential = bool(atp.flags & lt::torrent_flags::sequential_download);
    row.state = row.paused ? (auto_managed ? ST_QUEUED : ST_PAUSED) : ST_CHECKING;
    row.lt_state = LT_CHECKING_RESUME_DATA;
    row.upload_limit = entry->upload_limit;
    row.download_limit = entry->download_limit;
    row.max_connections = entry->max_connections;
    row.num_trackers = entry->num_trackers;
    row.added_time = atp.added_time > 0 ? atp.added_time : posix_now();
    row.completed_time = atp.completed_time;
    row.downloaded_total = atp.total_downloaded;
    row.uploaded_total = atp.total_uploaded;
    publish(*entry, std::move(row));
    table_.emplace(key, std::move(entry));
    ses_->async_add_torrent(std::move(atp));
    return key;
}

void Core::pause(const std::string& h, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    // An auto-managed torrent would be resumed by the queue: take it out first.
    e->handle.unset_flags(lt::torrent_flags::auto_managed);
    e->handle.pause(lt::torrent_handle::graceful_pause);
}

void Core::resume(const std::string& h, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    if (e->auto_managed)
        e->handle.set_flags(lt::torrent_flags::auto_managed);
    e->handle.resume();
}

void Core::remove(const std::string& h, bool with_data, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    ses_->remove_torrent(e->handle, with_data ? lt::session_handle::delete_files : lt::remove_flags_t{});
    drop(h);
}

void Core::drop(const std::string& h) {
    auto found = table_.find(h);
    if (found != table_.end()) {
        unlink(*found->second);
        table_.erase(found);
        tombstones_.emplace_back(++version_, h);
        if (tombstones_.size() > 65536) {
            auto cut = tombstones_.begin() + 32768;
            tomb_floor_ = (cut - 1)->first;
            tombstones_.erase(tombstones_.begin(), cut);
        }
    }
}

void Core::recheck(const std::string& h, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.force_recheck();
}

void Core::reannounce(const std::string& h, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval);
}

void Core::set_limits(const std::string& h, int upload, int download, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.set_upload_limit(upload);
    e->handle.set_download_limit(download);
    e->upload_limit = upload < 0 ? -1 : upload;
    e->download_limit = download < 0 ? -1 : download;
    Row row = *e->row;
    row.upload_limit = e->upload_limit;
    row.download_limit = e->download_limit;
    publish(*e, std::move(row));
}

void Core::set_max_connections(const std::string& h, int max_conns, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.set_max_connections(max_conns);
    e->max_connections = max_conns < 0 ? -1 : max_conns;
    Row row = *e->row;
    row.max_connections = e->max_connections;
    publish(*e, std::move(row));
}

void Core::set_sequential(const std::string& h, bool on, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    if (on)
        e->handle.set_flags(lt::torrent_flags::sequential_download);
    else
        e->handle.unset_flags(lt::torrent_flags::sequential_download);
}

void Core::queue(const std::string& h, int op, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    switch (op) {
        case 0: e->handle.queue_position_top(); break;
        case 1: e->handle.queue_position_bottom(); break;
        case 2: e->handle.queue_position_up(); break;
        case 3: e->handle.queue_position_down(); break;
        default: err.set(ERR_INVALID, "unknown queue operation");
    }
}

void Core::move_storage(const std::string& h, const std::string& path, bool reset_only, Error& err) {
    if (path.empty()) return err.set(ERR_INVALID, "a destination path is required");
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    // reset_only: the payload is already at `path`; keep every file found there
    // (dont_replace) so libtorrent only switches its save path.
    e->handle.move_storage(path, reset_only ? lt::move_flags_t::dont_replace
                                            : lt::move_flags_t::fail_if_exist);
}

void Core::save_resume(const std::string& h, Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.save_resume_data(lt::torrent_handle::flush_disk_cache | lt::torrent_handle::save_info_dict);
}

int Core::save_resume_modified() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return 0;
    int n = 0;
    for (auto& kv : table_) {
        Entry& e = *kv.second;
        if (e.has_handle && e.row->need_save_resume) {
            e.handle.save_resume_data(lt::torrent_handle::flush_disk_cache |
                                      lt::torrent_handle::save_info_dict |
                                      lt::torrent_handle::only_if_modified);
            ++n;
        }
    }
    return n;
}

void Core::connect_peer(const std::string& h, const std::string& ip, int port, Error& err) {
    lt::error_code ec;
    auto addr = lt::make_address(ip, ec);
    if (ec) return err.set(ERR_INVALID, "invalid peer address: " + ip);
    if (port <= 0 || port > 65535) return err.set(ERR_INVALID, "invalid peer port");
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = find(h, err);
    if (!e) return;
    e->handle.connect_peer(lt::tcp::endpoint(addr, static_cast<std::uint16_t>(port)));
}

std::vector<FileEntry> Core::files(const std::string& h, Error& err) {
    std::vector<FileEntry> out;
    lt::torrent_handle th;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Entry* e = find(h, err);
        if (!e) return out;
        th = e->handle;
    }
    // One torrent's synchronous queries; never done for every torrent.
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
}

void Core::set_file_priorities(const std::string& h, const std::vector<std::pair<int, int>>& prios,
                               Error& err) {
    lt::torrent_handle th;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Entry* e = find(h, err);
        if (!e) return;
        th = e->handle;
    }
    auto ti = th.torrent_file();
    if (!ti) return err.set(ERR_FAILED, "the torrent has no metadata yet");
    int n = ti->num_files();
    for (const auto& p : prios) {
        if (p.first < 0 || p.first >= n) return err.set(ERR_INVALID, "file index out of range");
        if (p.second < 0 || p.second > 7) return err.set(ERR_INVALID, "file priority must be 0..7");
    }
    for (const auto& p : prios)
        th.file_priority(lt::file_index_t(p.first), lt::download_priority_t(static_cast<std::uint8_t>(p.second)));
}

std::string Core::piece_states(const std::string& h, Error& err) {
    std::string out;
    lt::torrent_handle th;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Entry* e = find(h, err);
        if (!e) return out;
        th = e->handle;
    }
    // One torrent's synchronous queries, on request only.
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
}

std::vector<std::string> Core::piece_hashes(const std::string& h, Error& err) {
    std::vector<std::string> out;
    lt::torrent_handle th;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Entry* e = find(h, err);
        if (!e) return out;
        th = e->handle;
    }
    auto ti = th.torrent_file();
    if (!ti || !ti->info_hashes().has_v1()) return out;
    out.reserve(static_cast<std::size_t>(ti->num_pieces()));
    for (lt::piece_index_t i : ti->piece_range()) {
        lt::sha1_hash ph = ti->hash_for_piece(i);
        out.push_back(hex(ph.data(), ph.size()));
    }
    return out;
}

std::vector<TrackerEntry> Core::trackers(const std::string& h, Error& err) {
    std::vector<TrackerEntry> out;
    lt::torrent_handle th;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Entry* e = find(h, err);
        if (!e) return out;
        th = e->handle;
    }
    for (const auto& ae : th.trackers()) {
        TrackerEntry t;
        t.url = ae.url;
        t.tier = ae.tier;
        bool updating = false, working = false, failed = false;
        for (const auto& ep : ae.endpoints) {
            for (const auto& ih : ep.info_hashes) {
                if (ih.updating) updating = true;
                if (ih.start_sent && !ih.last_error) working = true;
                if (ih.fails > 0 || ih.last_error) {
                    failed = true;
                    if (t.message.empty() && ih.last_error) t.message = ih.last_error.message();
                }
                if (!ih.message.empty() && t.message.empty()) t.message = ih.message;
                t.seeds = std::max(t.seeds, ih.scrape_complete);
                t.leeches = std::max(t.leeches, ih.scrape_incomplete);
                t.downloaded = std::max(t.downloaded, ih.scrape_downloaded);
            }
        }
        t.status = updating ? 3 : working ? 2 : failed ? 4 : 1;
        out.push_back(std::move(t));
    }
    return out;
}

SessionStats Core::stats() {
    std::lock_guard<std::mutex> lock(mu_);
    SessionStats s = stats_;
    s.num_torrents = static_cast<int>(table_.size());
    return s;
}

void Core::post_updates() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return;
    ses_->post_torrent_updates();
    ses_->post_session_stats();
}

void Core::drain(std::vector<Event>& out) {
    // Reset the eventfd before popping: an alert that lands after the last pop
    // writes it again, so no wake-up is lost.
    std::uint64_t ignored;
    ssize_t r = ::read(fd_, &ignored, sizeof ignored);
    (void)r;
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return;
    handle_alerts(out);
}

void Core::handle_alerts(std::vector<Event>& out) {
    std::vector<lt::alert*> alerts;
    // A command took effect (pause, resume, a state change): ask for fresh rows at once instead of
    // waiting for the next timer tick, so listings and event streams see it within milliseconds.
    bool refresh = false;
    for (;;) {
        ses_->pop_alerts(&alerts);
        if (alerts.empty()) break;
        for (lt::alert* a : alerts) {
            switch (a->type()) {
                case lt::torrent_paused_alert::alert_type:
                case lt::torrent_resumed_alert::alert_type:
                case lt::state_changed_alert::alert_type:
                case lt::torrent_checked_alert::alert_type:
                    refresh = true;
                    break;
                case lt::state_update_alert::alert_type: {
                    auto* su = static_cast<lt::state_update_alert*>(a);
                    for (const lt::torrent_status& st : su->status) {
                        std::string key = key_of(st.info_hashes);
                        auto it = table_.find(key);
                        if (it == table_.end()) continue;  // removed meanwhile
                        Entry& e = *it->second;
                        if (!e.has_handle) {
                            e.handle = st.handle;
                            e.has_handle = true;
                        }
                        const Row& old = *e.row;
                        Row row;
                        row.info_hash = key;
                        row.info_hash_v2 = old.info_hash_v2.empty() ? v2_of(st.info_hashes) : old.info_hash_v2;
                        row.name = st.name.empty() ? old.name : st.name;
                        row.save_path = st.save_path;
                        row.current_tracker = st.current_tracker;
                        if (st.errc) {
                            row.error = st.errc.message();
                            if (st.error_file >= lt::file_index_t(0)) {
                                if (auto ti = st.torrent_file.lock())
                                    row.error += ": " + ti->files().file_path(st.error_file);
                            }
                        }
                        row.total_size = st.total;
                        row.total_wanted = st.total_wanted;
                        row.total_done = st.total_done;
                        row.total_wanted_done = st.total_wanted_done;
                        row.progress = st.progress;
                        row.downloaded_session = st.total_payload_download;
                        row.uploaded_session = st.total_payload_upload;
                        row.downloaded_total = st.all_time_download;
                        row.uploaded_total = st.all_time_upload;
                        row.download_rate = st.download_payload_rate;
                        row.upload_rate = st.upload_payload_rate;
                        row.num_peers = st.num_peers;
                        row.num_seeds = st.num_seeds;
                        row.list_peers = st.list_peers;
                        row.list_seeds = st.list_seeds;
                        row.num_complete = st.num_complete;
                        row.num_incomplete = st.num_incomplete;
                        row.availability = st.has_metadata ? st.distributed_copies : -1.0;
                        row.lt_state = static_cast<int>(st.state);
                        row.state = revaer_state(st);
                        row.paused = bool(st.flags & lt::torrent_flags::paused);
                        row.auto_managed = bool(st.flags & lt::torrent_flags::auto_managed);
                        row.sequential = bool(st.flags & lt::torrent_flags::sequential_download);
                        row.super_seeding = bool(st.flags & lt::torrent_flags::super_seeding);
                        row.upload_mode = bool(st.flags & lt::torrent_flags::upload_mode);
                        row.has_metadata = st.has_metadata;
                        row.is_finished = st.is_finished;
                        row.is_seeding = st.is_seeding;
                        row.moving_storage = st.moving_storage;
                        row.need_save_resume = st.need_save_resume;
                        row.queue_position = static_cast<int>(st.queue_position);
                        row.upload_limit = e.upload_limit;
                        row.download_limit = e.download_limit;
                        row.max_connections = e.max_connections;
                        row.added_time = st.added_time;
                        row.completed_time = st.completed_time;
                        row.last_seen_complete = st.last_seen_complete;
                        row.last_activity = std::max(to_posix(st.last_upload), to_posix(st.last_download));
                        row.active_duration = st.active_duration.count();
                        row.seeding_duration = st.seeding_duration.count();
                        row.finished_duration = st.finished_duration.count();
                        row.num_trackers = e.num_trackers;
                        row.pieces_have = st.num_pieces;
                        if (auto ti = st.torrent_file.lock()) {
                            row.piece_length = ti->piece_length();
                            row.num_pieces = ti->num_pieces();
                            row.num_files = ti->num_files();
                            row.is_private = ti->priv();
                            if (row.total_size == 0) row.total_size = ti->total_size();
                        }
                        if (st.has_metadata && !st.is_finished && st.state == lt::torrent_status::downloading)
                            e.was_complete = false;
                        if (row.state != old.state) {
                            Event ev;
                            ev.kind = EV_STATE;
                            ev.info_hash = key;
                            ev.a = old.state;
                            ev.b = row.state;
                            out.push_back(std::move(ev));
                        }
                        publish(e, std::move(row));
                    }
                    break;
                }
                case lt::add_torrent_alert::alert_type: {
                    auto* at = static_cast<lt::add_torrent_alert*>(a);
                    lt::info_hash_t ih = at->params.ti ? at->params.ti->info_hashes() : at->params.info_hashes;
                    std::string key = key_of(ih);
                    Event ev;
                    ev.info_hash = key;
                    auto it = table_.find(key);
                    if (at->error) {
                        ev.kind = EV_ADD_FAILED;
                        ev.text = at->error.message();
                        // A duplicate reported by libtorrent belongs to a torrent we already hold.
                        if (at->error != lt::errors::duplicate_torrent) drop(key);
                    } else {
                        ev.kind = EV_ADDED;
                        ev.text = at->torrent_name();
                        if (it != table_.end()) {
                            it->second->handle = at->handle;
                            it->second->has_handle = true;
                        } else {
                            // Removed before the add completed: honour the removal.
                            ses_->remove_torrent(at->handle);
                            break;
                        }
                    }
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::torrent_finished_alert::alert_type: {
                    auto* fa = static_cast<lt::torrent_finished_alert*>(a);
                    std::string key = key_of(fa->handle.info_hashes());
                    auto it = table_.find(key);
                    if (it == table_.end() || it->second->was_complete) break;
                    it->second->was_complete = true;
                    // Data that was complete on disk when added (cross-seeding, a re-added
                    // torrent) finished without a download: that is not a completion. One
                    // status query per finished torrent, never in a loop.
                    if (fa->handle.status({}).total_payload_download == 0) break;
                    Event ev;
                    ev.kind = EV_COMPLETED;
                    ev.info_hash = key;
                    ev.text = fa->torrent_name();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::torrent_removed_alert::alert_type: {
                    auto* ra = static_cast<lt::torrent_removed_alert*>(a);
                    Event ev;
                    ev.kind = EV_REMOVED;
                    ev.info_hash = key_of(ra->info_hashes);
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::torrent_deleted_alert::alert_type: {
                    auto* da = static_cast<lt::torrent_deleted_alert*>(a);
                    Event ev;
                    ev.kind = EV_DATA_DELETED;
                    ev.info_hash = key_of(da->info_hashes);
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::torrent_delete_failed_alert::alert_type: {
                    auto* df = static_cast<lt::torrent_delete_failed_alert*>(a);
                    Event ev;
                    ev.kind = EV_ERROR;
                    ev.info_hash = key_of(df->info_hashes);
                    ev.text = "deleting files failed: " + df->error.message();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::torrent_error_alert::alert_type: {
                    auto* ea = static_cast<lt::torrent_error_alert*>(a);
                    Event ev;
                    ev.kind = EV_ERROR;
                    ev.info_hash = key_of(ea->handle.info_hashes());
                    ev.text = ea->error.message();
                    if (std::strlen(ea->filename()) > 0) ev.text += std::string(": ") + ea->filename();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::file_error_alert::alert_type: {
                    auto* fe = static_cast<lt::file_error_alert*>(a);
                    Event ev;
                    ev.kind = EV_ERROR;
                    ev.info_hash = key_of(fe->handle.info_hashes());
                    ev.text = std::string(lt::operation_name(fe->op)) + " " + fe->filename() + ": " +
                              fe->error.message();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::save_resume_data_alert::alert_type: {
                    auto* sr = static_cast<lt::save_resume_data_alert*>(a);
                    Event ev;
                    ev.kind = EV_RESUME_DATA;
                    ev.info_hash = key_of(sr->params.ti ? sr->params.ti->info_hashes() : sr->params.info_hashes);
                    std::vector<char> buf = lt::write_resume_data_buf(sr->params);
                    ev.data.assign(buf.data(), buf.size());
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::save_resume_data_failed_alert::alert_type: {
                    auto* sf = static_cast<lt::save_resume_data_failed_alert*>(a);
                    if (sf->error == lt::errors::resume_data_not_modified) break;
                    Event ev;
                    ev.kind = EV_RESUME_FAILED;
                    ev.info_hash = key_of(sf->handle.info_hashes());
                    ev.text = sf->error.message();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::metadata_received_alert::alert_type: {
                    auto* ma = static_cast<lt::metadata_received_alert*>(a);
                    std::string key = key_of(ma->handle.info_hashes());
                    auto it = table_.find(key);
                    if (it != table_.end()) {
                        if (auto ti = ma->handle.torrent_file()) {
                            Entry& e = *it->second;
                            Row row = *e.row;
                            row.name = ti->name();
                            row.has_metadata = true;
                            row.total_size = ti->total_size();
                            row.piece_length = ti->piece_length();
                            row.num_pieces = ti->num_pieces();
                            row.num_files = ti->num_files();
                            row.is_private = ti->priv();
                            std::set<std::string> urls;
                            for (const auto& ae : ti->trackers()) urls.insert(ae.url);
                            e.num_trackers = std::max(e.num_trackers, static_cast<int>(urls.size()));
                            row.num_trackers = e.num_trackers;
                            publish(e, std::move(row));
                        }
                    }
                    Event ev;
                    ev.kind = EV_METADATA;
                    ev.info_hash = key;
                    ev.text = ma->torrent_name();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::storage_moved_alert::alert_type: {
                    auto* sm = static_cast<lt::storage_moved_alert*>(a);
                    Event ev;
                    ev.kind = EV_STORAGE_MOVED;
                    ev.info_hash = key_of(sm->handle.info_hashes());
                    ev.text = sm->storage_path();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::storage_moved_failed_alert::alert_type: {
                    auto* sf = static_cast<lt::storage_moved_failed_alert*>(a);
                    Event ev;
                    ev.kind = EV_STORAGE_MOVE_FAILED;
                    ev.info_hash = key_of(sf->handle.info_hashes());
                    ev.text = sf->error.message();
                    if (std::strlen(sf->file_path()) > 0) ev.text += std::string(": ") + sf->file_path();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::listen_succeeded_alert::alert_type: {
                    auto* ls = static_cast<lt::listen_succeeded_alert*>(a);
                    // Kept here so stats() never makes a synchronous call into libtorrent.
                    if (ls->socket_type == lt::socket_type_t::tcp) stats_.listen_port = ls->port;
                    Event ev;
                    ev.kind = EV_LISTEN;
                    ev.text = ls->address.to_string();
                    ev.a = ls->port;
                    ev.b = static_cast<int>(ls->socket_type);
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::listen_failed_alert::alert_type: {
                    auto* lf = static_cast<lt::listen_failed_alert*>(a);
                    Event ev;
                    ev.kind = EV_LISTEN_FAILED;
                    ev.text = lf->address.to_string() + ":" + std::to_string(lf->port) + ": " +
                              lf->error.message();
                    out.push_back(std::move(ev));
                    break;
                }
                case lt::session_stats_alert::alert_type: {
                    auto* ss = static_cast<lt::session_stats_alert*>(a);
                    auto c = ss->counters();
                    auto at = [&](int idx) -> std::int64_t { return idx >= 0 ? c[idx] : 0; };
                    std::int64_t now_us =
                        std::chrono::duration_cast<std::chrono::microseconds>(ss->timestamp().time_since_epoch())
                            .count();
                    std::int64_t recv = at(idx_recv_payload_), sent = at(idx_sent_payload_);
                    if (stats_ts_us_ > 0 && now_us > stats_ts_us_) {
                        double dt = static_cast<double>(now_us - stats_ts_us_) / 1e6;
                        stats_.download_rate = static_cast<std::int64_t>((recv - stats_.downloaded) / dt);
                        stats_.upload_rate = static_cast<std::int64_t>((sent - stats_.uploaded) / dt);
                    }
                    stats_ts_us_ = now_us;
                    stats_.downloaded = recv;
                    stats_.uploaded = sent;
                    stats_.downloaded_wire = at(idx_recv_);
                    stats_.uploaded_wire = at(idx_sent_);
                    stats_.dht_nodes = at(idx_dht_);
                    stats_.peers_connected = at(idx_peers_);
                    break;
                }
                default:
                    break;
            }
        }
    }
    if (refresh) ses_->post_torrent_updates();
}

std::vector<RowPtr> Core::snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RowPtr> out;
    out.reserve(table_.size());
    for (const auto& kv : table_) out.push_back(kv.second->row);
    return out;
}

RowPtr Core::get(const std::string& h) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(h);
    if (it == table_.end()) return nullptr;
    return it->second->row;
}

std::int64_t Core::version() {
    std::lock_guard<std::mutex> lock(mu_);
    return version_;
}

Changes Core::changed_since(std::int64_t since) {
    std::lock_guard<std::mutex> lock(mu_);
    Changes ch;
    ch.version = version_;
    if (since < tomb_floor_) {
        ch.resync = true;
        return ch;
    }
    if (since >= version_) return ch;
    for (Entry* e = newest_; e != nullptr && e->row->version > since; e = e->older) ch.rows.push_back(e->row);
    std::reverse(ch.rows.begin(), ch.rows.end());
    auto it = std::upper_bound(tombstones_.begin(), tombstones_.end(), since,
                               [](std::int64_t v, const auto& t) { return v < t.first; });
    for (; it != tombstones_.end(); ++it) ch.removed.push_back(it->second);
    return ch;
}

std::vector<ResumeItem> Core::shutdown(int timeout_ms) {
    std::vector<ResumeItem> saved;
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return saved;
    closed_ = true;
    ses_->set_alert_notify([] {});
    // Settle pending adds so every torrent has a handle, then stop peers so the
    // resume data describes a quiet state.
    std::vector<Event> ignored;
    handle_alerts(ignored);
    ses_->pause();
    int outstanding = 0;
    for (auto& kv : table_) {
        Entry& e = *kv.second;
        if (!e.has_handle) {
            lt::sha1_hash sha;
            if (sha1_from_hex(kv.first, sha)) e.handle = ses_->find_torrent(sha);
            e.has_handle = e.handle.is_valid();
        }
        if (!e.has_handle) continue;
        e.handle.save_resume_data(lt::torrent_handle::flush_disk_cache | lt::torrent_handle::save_info_dict);
        ++outstanding;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::vector<lt::alert*> alerts;
    while (outstanding > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        if (!ses_->wait_for_alert(left)) continue;
        ses_->pop_alerts(&alerts);
        for (lt::alert* a : alerts) {
            if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
                std::vector<char> buf = lt::write_resume_data_buf(sr->params);
                lt::info_hash_t ih = sr->params.ti ? sr->params.ti->info_hashes() : sr->params.info_hashes;
                saved.push_back({key_of(ih), std::string(buf.data(), buf.size())});
                --outstanding;
            } else if (lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
                --outstanding;
            }
        }
    }
    // Destroying the session blocks until libtorrent has shut down (trackers
    // told, files closed); the caller runs this off the event loop.
    lt::session_proxy proxy = ses_->abort();
    ses_.reset();
    oldest_ = newest_ = nullptr;
    table_.clear();
    return saved;
}

}  // namespace revaer
