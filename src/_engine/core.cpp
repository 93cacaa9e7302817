// The engine's C++ core: the session, its commands and the drain. See core.hpp
// for the contract; the rules that keep it safe are: no alert pointer outlives
// drain()/shutdown() (alerts.cpp), no torrent_handle::status() in a loop (the
// table is fed by state_update_alert), and every method is called with the GIL
// released.
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/version.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include "lt_util.hpp"
#include "table.hpp"

namespace revaer {

namespace {

std::atomic<std::int64_t> g_live{0};

// The info dictionary goes into resume data only for a torrent that has no other copy of it (one
// added from a magnet): the caller keeps the .torrent file a torrent was added from and gives it
// back with the resume data (Entry::info_elsewhere), so each save is a few hundred bytes, not the
// whole piece list again.
lt::resume_data_flags_t resume_flags(const Entry& e) {
    return e.info_elsewhere ? lt::torrent_handle::flush_disk_cache
                            : lt::torrent_handle::flush_disk_cache | lt::torrent_handle::save_info_dict;
}

// Resume data saved without its info dictionary, given back with the .torrent file it came from.
// The resume data's trackers and web seeds are the torrent's current ones (the user may have
// changed them), so the file's own lists are dropped.
bool attach_torrent_file(const AddSpec& spec, lt::add_torrent_params& atp, Error& err) {
    if (atp.ti) return true;  // the resume data carries its own info dictionary
    lt::error_code ec;
    auto ti = std::make_shared<lt::torrent_info>(
        lt::span<const char>(spec.torrent.data(), static_cast<long>(spec.torrent.size())), ec, lt::from_span);
    if (ec) {
        err.set(ERR_INVALID, "invalid torrent file: " + ec.message());
        return false;
    }
    const lt::info_hash_t& want = atp.info_hashes;
    const lt::info_hash_t& got = ti->info_hashes();
    if ((want.has_v1() && got.v1 != want.v1) || (want.has_v2() && got.v2 != want.v2) ||
        (!want.has_v1() && !want.has_v2())) {
        err.set(ERR_INVALID, "the torrent file is not the one the resume data belongs to");
        return false;
    }
    ti->clear_trackers();
    ti->set_web_seeds({});
    atp.ti = std::move(ti);
    return true;
}

// At most MAX_TRACKERS trackers. A new magnet or .torrent with more is refused; resume data
// (a torrent stored before the bound existed) keeps its first MAX_TRACKERS in tier order: a
// stored download is never dropped for its tracker list.
bool bound_trackers(const AddSpec& spec, lt::add_torrent_params& atp, Error& err) {
    std::size_t n = atp.trackers.size() + (atp.ti ? atp.ti->trackers().size() : 0);
    if (n <= MAX_TRACKERS) return true;
    if (!spec.resume.empty()) {
        atp.trackers.resize(std::min(atp.trackers.size(), MAX_TRACKERS));
        if (atp.tracker_tiers.size() > atp.trackers.size()) atp.tracker_tiers.resize(atp.trackers.size());
        return true;
    }
    err.set(ERR_INVALID, "too many trackers: " + std::to_string(n) + " (at most " + std::to_string(MAX_TRACKERS) + ")");
    return false;
}

// Parses what the caller gave into `atp`; ERR_INVALID (and false) when it cannot be used.
bool parse_source(const AddSpec& spec, lt::add_torrent_params& atp, Error& err) {
    lt::error_code ec;
    if (!spec.resume.empty()) {
        atp = lt::read_resume_data({spec.resume.data(), static_cast<long>(spec.resume.size())}, ec);
        if (ec)
            err.set(ERR_INVALID, "invalid resume data: " + ec.message());
        else if (!spec.torrent.empty() && !attach_torrent_file(spec, atp, err))
            return false;
    } else if (!spec.torrent.empty()) {
        auto ti = std::make_shared<lt::torrent_info>(
            lt::span<const char>(spec.torrent.data(), static_cast<long>(spec.torrent.size())), ec, lt::from_span);
        if (ec)
            err.set(ERR_INVALID, "invalid torrent file: " + ec.message());
        else
            atp.ti = std::move(ti);
    } else if (!spec.magnet.empty()) {
        lt::parse_magnet_uri(spec.magnet, atp, ec);
        if (ec) err.set(ERR_INVALID, "invalid magnet link: " + ec.message());
    } else {
        err.set(ERR_INVALID, "nothing to add: give a magnet link, torrent file or resume data");
    }
    if (err.code) return false;
    if (!bound_trackers(spec, atp, err)) return false;
    lt::info_hash_t ih = atp.ti ? atp.ti->info_hashes() : atp.info_hashes;
    if (!ih.has_v1() && !ih.has_v2()) {
        err.set(ERR_INVALID, !spec.magnet.empty()   ? "invalid magnet link: missing info-hash"
                             : !spec.resume.empty() ? "invalid resume data: missing info-hash"
                                                    : "invalid torrent file: missing info-hash");
        return false;
    }
    return true;
}

// Applies the caller's options over what the source said; returns whether it is auto-managed.
bool apply_options(const AddSpec& spec, lt::add_torrent_params& atp) {
    const bool from_resume = !spec.resume.empty();
    if (!spec.save_path.empty()) atp.save_path = spec.save_path;
    if (!spec.name.empty() && !atp.ti) atp.name = spec.name;
    if (spec.paused == 1) atp.flags |= lt::torrent_flags::paused;
    if (spec.paused == 0) atp.flags &= ~lt::torrent_flags::paused;
    bool auto_managed = from_resume ? bool(atp.flags & lt::torrent_flags::auto_managed) : spec.auto_managed != 0;
    if (auto_managed)
        atp.flags |= lt::torrent_flags::auto_managed;
    else
        atp.flags &= ~lt::torrent_flags::auto_managed;
    if (spec.sequential == 1) atp.flags |= lt::torrent_flags::sequential_download;
    if (spec.sequential == 0) atp.flags &= ~lt::torrent_flags::sequential_download;
    if (spec.seed_mode == 1) atp.flags |= lt::torrent_flags::seed_mode;
    atp.flags |= lt::torrent_flags::duplicate_is_error;
    // Resume data keeps its own limits unless the caller gives one.
    if (spec.upload_limit >= 0 || !from_resume) atp.upload_limit = spec.upload_limit;
    if (spec.download_limit >= 0 || !from_resume) atp.download_limit = spec.download_limit;
    if (spec.max_connections >= 0 || !from_resume) atp.max_connections = spec.max_connections;
    for (const auto& r : spec.renamed_files) atp.renamed_files[lt::file_index_t(r.first)] = r.second;
    return auto_managed;
}

}  // namespace

std::int64_t live_objects() { return g_live.load(); }

Counted::Counted() noexcept { ++g_live; }
Counted::Counted(const Counted&) noexcept { ++g_live; }
Counted::~Counted() { --g_live; }

std::string libtorrent_version() { return lt::version(); }

namespace {

// Revaer's own session setting, not a libtorrent name: whether the session-wide rate limits also
// hold peers on the local network (qBittorrent's "apply rate limit to peers on LAN").
const char* const LIMIT_LAN_PEERS = "limit_lan_peers";

// libtorrent puts local addresses in its local peer class, which the session's rate limits leave
// alone; limited, every address is in the global class.
lt::ip_filter peer_class_filter(bool limit_lan) {
    const std::uint32_t global = 1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    const std::uint32_t local = 1u << static_cast<std::uint32_t>(lt::session::local_peer_class_id);
    lt::ip_filter f;
    f.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
    f.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    if (limit_lan) return f;
    static const char* const ranges[][2] = {
        {"10.0.0.0", "10.255.255.255"},   {"172.16.0.0", "172.31.255.255"},
        {"192.168.0.0", "192.168.255.255"}, {"169.254.0.0", "169.254.255.255"},
        {"127.0.0.0", "127.255.255.255"}, {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"::1", "::1"},
    };
    for (const auto& r : ranges) f.add_rule(lt::make_address(r[0]), lt::make_address(r[1]), local);
    return f;
}

// ``settings`` without Revaer's own; ``limit_lan`` set when they name it.
std::vector<Setting> take_own(const std::vector<Setting>& settings, int& limit_lan) {
    std::vector<Setting> rest;
    rest.reserve(settings.size());
    for (const auto& s : settings) {
        if (s.name == LIMIT_LAN_PEERS) limit_lan = s.i != 0 ? 1 : 0;
        else rest.push_back(s);
    }
    return rest;
}

}  // namespace

Core::Core() : table_(std::make_unique<StatusTable>()) { ++g_live; }

Core::~Core() {
    if (ses_) {
        // Not closed through shutdown(): still never leave a session running.
        ses_->set_alert_notify([] {});
        ses_.reset();
    }
    // A teardown still going on is waited for: a session never outlives its Core.
    if (teardown_.joinable()) teardown_.join();
    if (fd_ >= 0) ::close(fd_);
    --g_live;
}

void Core::start(const std::vector<Setting>& settings, Error& err) {
    lt::settings_pack pack;
    // Defaults that make thousands of torrents fine; the caller's settings win.
    // ip_block and peer: the peers refused (blocked, banned) for log/peers.
    pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                                    lt::alert_category::storage | lt::alert_category::ip_block |
                                                    lt::alert_category::peer);
    pack.set_int(lt::settings_pack::alert_queue_size, 1000000);
    for (int name : {lt::settings_pack::active_downloads, lt::settings_pack::active_seeds,
                     lt::settings_pack::active_limit, lt::settings_pack::active_tracker_limit,
                     lt::settings_pack::active_dht_limit, lt::settings_pack::active_lsd_limit})
        pack.set_int(name, -1);
    int limit_lan = -1;
    fill_pack(pack, take_own(settings, limit_lan), err);
    if (err.code) return;
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) return err.set(ERR_FAILED, std::string("eventfd: ") + std::strerror(errno));
    lt::session_params params(std::move(pack));
    try {
        ses_ = std::make_unique<lt::session>(std::move(params));
    } catch (const std::exception& e) {
        return err.set(ERR_FAILED, e.what());
    }
    if (limit_lan == 1) ses_->set_peer_class_filter(peer_class_filter(true));
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
    int limit_lan = -1;
    fill_pack(pack, take_own(settings, limit_lan), err);
    if (err.code) return;
    ses_->apply_settings(std::move(pack));
    if (limit_lan >= 0) ses_->set_peer_class_filter(peer_class_filter(limit_lan == 1));
}

int Core::listen_port(Error& err) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return 0;
    }
    return ses_->listen_port();
}

bool Core::settle_handle(Entry& e, const std::string& h) {
    // Added a moment ago and its add_torrent_alert is not drained yet: ask the session.
    lt::sha1_hash sha;
    if (!e.has_handle && sha1_from_hex(h, sha)) {
        e.handle = ses_->find_torrent(sha);
        e.has_handle = e.handle.is_valid();
    }
    return e.has_handle;
}

Entry* Core::find(const std::string& h, Error& err) {
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return nullptr;
    }
    Entry* e = table_->find(h);
    if (!e) {
        err.set(ERR_NOT_FOUND, "unknown torrent: " + h);
        return nullptr;
    }
    if (!settle_handle(*e, h)) {
        err.set(ERR_FAILED, "torrent is still being added: " + h);
        return nullptr;
    }
    return e;
}

template <typename F>
void Core::act(const std::string& h, Error& err, F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* e = find(h, err)) f(*e);
}

std::string Core::add(const AddSpec& spec, Error& err) {
    lt::add_torrent_params atp;
    if (!parse_source(spec, atp, err)) return {};
    bool auto_managed = apply_options(spec, atp);
    if (atp.save_path.empty()) {
        err.set(ERR_INVALID, "a save path is required");
        return {};
    }
    if (!spec.resume.empty()) distrust_stale_pieces(spec.resume, atp);
    std::string key = key_of(atp.ti ? atp.ti->info_hashes() : atp.info_hashes);
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) {
        err.set(ERR_CLOSED, "engine is closed");
        return {};
    }
    if (table_->contains(key)) {
        err.set(ERR_DUPLICATE, "torrent already exists: " + key);
        return {};
    }
    auto entry = std::make_unique<Entry>();
    entry->auto_managed = auto_managed;
    entry->was_complete = atp.completed_time > 0;
    entry->user_paused = bool(atp.flags & lt::torrent_flags::paused);
    entry->info_elsewhere = !spec.torrent.empty();
    table_->insert(key, std::move(entry), row_from_params(atp, key, auto_managed));
    ses_->async_add_torrent(std::move(atp));
    return key;
}

void Core::pause(const std::string& h, Error& err) {
    act(h, err, [](Entry& e) {
        // An auto-managed torrent would be resumed by the queue: take it out first.
        e.handle.unset_flags(lt::torrent_flags::auto_managed);
        e.handle.pause(lt::torrent_handle::graceful_pause);
        e.user_paused = true;
    });
}

void Core::resume(const std::string& h, Error& err) {
    act(h, err, [](Entry& e) {
        if (e.auto_managed) e.handle.set_flags(lt::torrent_flags::auto_managed);
        // libtorrent's resume() clears the error of a paused torrent only (not one failed by an
        // exception, which stays unpaused) and never leaves the upload mode a full disk put it
        // in. The user asking to resume is asking for both to be retried.
        e.handle.clear_error();
        e.last_error.clear();
        e.user_paused = false;
        if (e.disk_full) {
            e.handle.unset_flags(lt::torrent_flags::upload_mode);
            e.disk_full = false;
        }
        e.handle.resume();
    });
}

void Core::remove(const std::string& h, bool with_data, Error& err) {
    act(h, err, [&](Entry& e) {
        ses_->remove_torrent(e.handle, with_data ? lt::session_handle::delete_files : lt::remove_flags_t{});
        table_->drop(h);
    });
}

void Core::recheck(const std::string& h, Error& err) {
    act(h, err, [](Entry& e) { e.handle.force_recheck(); });
}

void Core::reannounce(const std::string& h, Error& err) {
    act(h, err, [](Entry& e) { e.handle.force_reannounce(0, -1, lt::torrent_handle::ignore_min_interval); });
}

void Core::set_limits(const std::string& h, int upload, int download, Error& err) {
    act(h, err, [&](Entry& e) {
        Row row = *e.row;
        row.upload_limit = limit_or_unlimited(upload);
        row.download_limit = limit_or_unlimited(download);
        e.handle.set_upload_limit(row.upload_limit);
        e.handle.set_download_limit(row.download_limit);
        table_->publish(e, std::move(row));
    });
}

void Core::set_max_connections(const std::string& h, int max_conns, Error& err) {
    act(h, err, [&](Entry& e) {
        Row row = *e.row;
        row.max_connections = limit_or_unlimited(max_conns);
        e.handle.set_max_connections(row.max_connections);
        table_->publish(e, std::move(row));
    });
}

void Core::set_sequential(const std::string& h, bool on, Error& err) {
    act(h, err, [on](Entry& e) {
        if (on)
            e.handle.set_flags(lt::torrent_flags::sequential_download);
        else
            e.handle.unset_flags(lt::torrent_flags::sequential_download);
    });
}

void Core::queue(const std::string& h, int op, Error& err) {
    if (op < QUEUE_TOP || op > QUEUE_DOWN) return err.set(ERR_INVALID, "unknown queue operation");
    act(h, err, [op](Entry& e) {
        switch (op) {
            case QUEUE_TOP: return e.handle.queue_position_top();
            case QUEUE_BOTTOM: return e.handle.queue_position_bottom();
            case QUEUE_UP: return e.handle.queue_position_up();
            default: return e.handle.queue_position_down();
        }
    });
}

void Core::move_storage(const std::string& h, const std::string& path, bool reset_only, Error& err) {
    if (path.empty()) return err.set(ERR_INVALID, "a destination path is required");
    act(h, err, [&](Entry& e) {
        // reset_only: the payload is already at `path`; keep every file found there
        // (dont_replace) so libtorrent only switches its save path.
        e.handle.move_storage(path, reset_only ? lt::move_flags_t::dont_replace : lt::move_flags_t::fail_if_exist);
    });
}

void Core::save_resume(const std::string& h, Error& err) {
    act(h, err, [](Entry& e) { e.handle.save_resume_data(resume_flags(e)); });
}

int Core::save_resume_modified(bool downloading_only) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return 0;
    int n = 0;
    table_->for_each([&](const std::string&, Entry& e) {
        if (downloading_only && (e.row->is_finished || e.row->paused || !e.row->has_metadata)) return;
        if (e.has_handle && e.row->need_save_resume) {
            e.handle.save_resume_data(resume_flags(e) | lt::torrent_handle::only_if_modified);
            ++n;
        }
    });
    return n;
}

void Core::connect_peer(const std::string& h, const std::string& ip, int port, Error& err) {
    lt::error_code ec;
    auto addr = lt::make_address(ip, ec);
    if (ec) return err.set(ERR_INVALID, "invalid peer address: " + ip);
    if (port <= 0 || port > 65535) return err.set(ERR_INVALID, "invalid peer port");
    act(h, err, [&](Entry& e) { e.handle.connect_peer(lt::tcp::endpoint(addr, static_cast<std::uint16_t>(port))); });
}

namespace {

constexpr std::int64_t kDiskRetryMs = 5000;
// Room for a few pieces before a retry is worth it; less would fail again at once.
constexpr std::uint64_t kDiskRetryMinFree = 16u << 20;

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void Core::retry_disk_full() {
    const std::int64_t now = steady_ms();
    table_->for_each([&](const std::string&, Entry& e) {
        if (!e.disk_full || !e.has_handle || now < e.disk_retry_at_ms) return;
        e.disk_retry_at_ms = now + kDiskRetryMs;
        struct statvfs fs {};
        if (::statvfs(e.row->save_path.c_str(), &fs) != 0) return;
        if (static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < kDiskRetryMinFree) return;
        // If the disk is still too full, the next write fails and brings us back here.
        e.disk_full = false;
        e.last_error.clear();
        e.handle.clear_error();
        e.handle.unset_flags(lt::torrent_flags::upload_mode);
        // libtorrent pauses a torrent whose disk error is not a plain write ENOSPC (a read of a
        // hole on a full tmpfs, say); clear_error() leaves it paused. Not one the user paused.
        if (!e.user_paused) e.handle.resume();
    });
}

void Core::post_updates() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return;
    retry_disk_full();
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

std::vector<RowPtr> Core::snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return table_->snapshot();
}

RowPtr Core::get(const std::string& h) {
    std::lock_guard<std::mutex> lock(mu_);
    return table_->get(h);
}

std::int64_t Core::version() {
    std::lock_guard<std::mutex> lock(mu_);
    return table_->version();
}

Changes Core::changed_since(std::int64_t since) {
    std::lock_guard<std::mutex> lock(mu_);
    return table_->changed_since(since);
}

std::vector<ResumeItem> Core::shutdown(int timeout_ms) {
    std::vector<ResumeItem> saved;
    std::lock_guard<std::mutex> lock(mu_);
    if (!ses_) return saved;
    closed_.store(true);
    ses_->set_alert_notify([] {});
    // Settle pending adds so every torrent has a handle, then stop peers so the
    // resume data describes a quiet state.
    // Resume data already on its way (the pump had not drained it yet) is kept: with
    // only_if_modified below, such a torrent is not saved again.
    std::vector<Event> drained;
    handle_alerts(drained);
    for (Event& ev : drained)
        if (ev.kind == EV_RESUME_DATA) saved.push_back({std::move(ev.info_hash), std::move(ev.data)});
    ses_->pause();
    // Only what changed since its last save (the rest is stored already): at 10,000 idle torrents
    // a save of each was most of the stop's time. Waited for by torrent, not by count, so that a
    // save asked for before this one cannot stand in for it.
    std::unordered_set<std::string> waiting;
    table_->for_each([&](const std::string& h, Entry& e) {
        if (!settle_handle(e, h)) return;
        e.handle.save_resume_data(resume_flags(e) | lt::torrent_handle::only_if_modified);
        waiting.insert(h);
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::vector<lt::alert*> alerts;
    while (!waiting.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        if (!ses_->wait_for_alert(left)) continue;
        ses_->pop_alerts(&alerts);
        for (lt::alert* a : alerts) {
            if (auto* sr = lt::alert_cast<lt::save_resume_data_alert>(a)) {
                lt::info_hash_t ih = sr->params.ti ? sr->params.ti->info_hashes() : sr->params.info_hashes;
                std::string key = key_of(ih);
                waiting.erase(key);
                saved.push_back({std::move(key), encode_resume(sr->params)});
            } else if (auto* sf = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
                waiting.erase(key_of(sf->handle.info_hashes()));
            }
        }
    }
    // Destroying the session does not wait while a proxy holds it: the proxy, destroyed in a
    // thread of its own, waits until libtorrent has shut down (trackers told, files closed).
    // Everything a restart needs is in the resume data returned (ADR 0015).
    lt::session_proxy proxy = ses_->abort();
    ses_.reset();
    table_->clear();
    std::promise<void> done;
    torn_down_ = done.get_future().share();
    teardown_ = std::thread([p = std::move(proxy), d = std::move(done)]() mutable {
        { lt::session_proxy last(std::move(p)); }  // its destructor waits for the teardown
        d.set_value();
    });
    return saved;
}

bool Core::wait_closed(int timeout_ms) {
    std::shared_future<void> done;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!torn_down_.valid()) return !ses_;
        done = torn_down_;
    }
    return done.wait_for(std::chrono::milliseconds(timeout_ms)) == std::future_status::ready;
}

}  // namespace revaer
