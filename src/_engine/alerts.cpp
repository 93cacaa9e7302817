// The alert drain: one handler per alert type. Handlers copy what they need
// into Events and Rows; no alert pointer outlives handle_alerts(). Called with
// Core::mu_ held and the GIL released.
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/write_resume_data.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "lt_util.hpp"
#include "table.hpp"

namespace revaer {

struct Alerts {
    Core& core;
    StatusTable& table;
    std::vector<Event>& out;
    // A command took effect (pause, resume, a state change): ask for fresh rows at once instead of
    // waiting for the next timer tick, so listings and event streams see it within milliseconds.
    bool refresh = false;

    void emit(int kind, std::string info_hash, std::string text = {}, std::int64_t a = 0, std::int64_t b = 0) {
        Event ev;
        ev.kind = kind;
        ev.info_hash = std::move(info_hash);
        ev.text = std::move(text);
        ev.a = a;
        ev.b = b;
        out.push_back(std::move(ev));
    }

    // Out of space (or quota): libtorrent stops downloading the torrent; Core::retry_disk_full()
    // starts it again once there is room.
    static bool is_disk_full(const lt::error_code& ec) {
        return ec == boost::system::errc::no_space_on_device || ec == boost::system::errc::file_too_large ||
               (ec.category() == boost::system::system_category() && ec.value() == EDQUOT);
    }

    // "No space left on device: /downloads/x.bin (file_write)": the cause first, then the file.
    static std::string describe(const lt::error_code& ec, const char* op, const char* path) {
        std::string out = with_path(ec.message(), path);
        if (op && *op) out += std::string(" (") + op + ")";
        return out;
    }

    static std::string with_path(std::string message, const char* path) {
        if (std::strlen(path) > 0) message += std::string(": ") + path;
        return message;
    }

    template <typename... Kinds>
    static bool is_one_of(int type) {
        return ((type == Kinds::alert_type) || ...);
    }

    // The alerts with a handler of their own: on(const T&) for each T listed here.
    template <typename... Handled>
    bool handle(lt::alert* a) {
        const int type = a->type();
        return ((type == Handled::alert_type && (on(*static_cast<Handled*>(a)), true)) || ...);
    }

    void dispatch(lt::alert* a) {
        const bool handled =
            handle<lt::state_update_alert, lt::add_torrent_alert, lt::torrent_finished_alert,
                   lt::torrent_removed_alert, lt::torrent_deleted_alert, lt::torrent_delete_failed_alert,
                   lt::torrent_error_alert, lt::file_error_alert, lt::save_resume_data_alert,
                   lt::save_resume_data_failed_alert, lt::metadata_received_alert, lt::storage_moved_alert,
                   lt::storage_moved_failed_alert, lt::listen_succeeded_alert, lt::listen_failed_alert,
                   lt::session_stats_alert, lt::peer_blocked_alert, lt::peer_ban_alert>(a);
        // A command took effect: nothing to copy, only fresher rows wanted.
        if (!handled && is_one_of<lt::torrent_paused_alert, lt::torrent_resumed_alert, lt::state_changed_alert,
                                  lt::torrent_checked_alert>(a->type()))
            refresh = true;
    }

    void on(const lt::state_update_alert& su) {
        for (const lt::torrent_status& st : su.status) {
            std::string key = key_of(st.info_hashes);
            Entry* e = table.find(key);
            if (!e) continue;  // removed meanwhile
            if (!e->has_handle) {
                e->handle = st.handle;
                e->has_handle = true;
            }
            const int old_state = e->row->state;
            Row row = row_from_status(st, *e->row);
            if (e->disk_full) {
                // Stopped for lack of space (libtorrent's upload mode, or its error that follows):
                // say so, with the file, until retry_disk_full() finds room again.
                row.state = ST_ERROR;
                row.error = e->disk_error;
            }
            if (st.has_metadata && !st.is_finished && st.state == lt::torrent_status::downloading)
                e->was_complete = false;
            if (row.state != old_state) emit(EV_STATE, key, {}, old_state, row.state);
            table.publish(*e, std::move(row));
        }
    }

    void on(const lt::add_torrent_alert& at) {
        std::string key = key_of(at.params.ti ? at.params.ti->info_hashes() : at.params.info_hashes);
        if (at.error) {
            // A duplicate reported by libtorrent belongs to a torrent we already hold.
            if (at.error != lt::errors::duplicate_torrent) table.drop(key);
            return emit(EV_ADD_FAILED, key, at.error.message());
        }
        Entry* e = table.find(key);
        if (!e) {
            // Removed before the add completed: honour the removal.
            core.ses_->remove_torrent(at.handle);
            return;
        }
        e->handle = at.handle;
        e->has_handle = true;
        emit(EV_ADDED, key, at.torrent_name());
    }

    void on(const lt::torrent_finished_alert& fa) {
        std::string key = key_of(fa.handle.info_hashes());
        Entry* e = table.find(key);
        if (!e || e->was_complete) return;
        e->was_complete = true;
        // Data that was complete on disk when added (cross-seeding, a re-added torrent) finished
        // without a download: that is not a completion. One status query per finished torrent,
        // never in a loop.
        if (fa.handle.status({}).total_payload_download == 0) return;
        emit(EV_COMPLETED, key, fa.torrent_name());
    }

    void on(const lt::torrent_removed_alert& ra) { emit(EV_REMOVED, key_of(ra.info_hashes)); }

    void on(const lt::torrent_deleted_alert& da) { emit(EV_DATA_DELETED, key_of(da.info_hashes)); }

    void on(const lt::torrent_delete_failed_alert& df) {
        emit(EV_ERROR, key_of(df.info_hashes), "deleting files failed: " + df.error.message());
    }

    // libtorrent raises one alert per failed block: report each distinct error once.
    void emit_error(const std::string& key, Entry* e, std::string text) {
        if (e) {
            if (e->last_error == text) return;
            e->last_error = text;
        }
        emit(EV_ERROR, key, std::move(text));
    }

    void on(const lt::torrent_error_alert& ea) {
        std::string key = key_of(ea.handle.info_hashes());
        Entry* e = table.find(key);
        // Once a write failed for lack of space, what follows (libtorrent 2.0 also fails the
        // torrent with "Bad address" from an exception) is a consequence: the cause was reported.
        if (e && e->disk_full) return;
        std::string place = ea.filename();
        emit_error(key, e, place == "exception" ? ea.error.message() + " (exception)"
                                                : with_path(ea.error.message(), ea.filename()));
    }

    void on(const lt::file_error_alert& fe) {
        std::string key = key_of(fe.handle.info_hashes());
        Entry* e = table.find(key);
        std::string text = describe(fe.error, lt::operation_name(fe.op), fe.filename());
        if (e && is_disk_full(fe.error)) {
            if (e->disk_full) return;
            e->disk_full = true;
            e->disk_retry_at_ms = 0;
            e->disk_error = text;
            refresh = true;  // the row says so at once
        } else if (e && e->disk_full) {
            return;
        }
        emit_error(key, e, std::move(text));
    }

    void on(const lt::save_resume_data_alert& sr) {
        emit(EV_RESUME_DATA, key_of(sr.params.ti ? sr.params.ti->info_hashes() : sr.params.info_hashes));
        out.back().data = encode_resume(sr.params);
    }

    void on(const lt::save_resume_data_failed_alert& sf) {
        if (sf.error == lt::errors::resume_data_not_modified) return;
        emit(EV_RESUME_FAILED, key_of(sf.handle.info_hashes()), sf.error.message());
    }

    void on(const lt::metadata_received_alert& ma) {
        std::string key = key_of(ma.handle.info_hashes());
        Entry* e = table.find(key);
        if (e) {
            if (auto ti = ma.handle.torrent_file()) {
                Row row = *e->row;
                fill_metadata(row, *ti);
                table.publish(*e, std::move(row));
            }
        }
        emit(EV_METADATA, key, ma.torrent_name());
    }

    void on(const lt::storage_moved_alert& sm) {
        emit(EV_STORAGE_MOVED, key_of(sm.handle.info_hashes()), sm.storage_path());
    }

    void on(const lt::storage_moved_failed_alert& sf) {
        emit(EV_STORAGE_MOVE_FAILED, key_of(sf.handle.info_hashes()), with_path(sf.error.message(), sf.file_path()));
    }

    void on(const lt::listen_succeeded_alert& ls) {
        // Kept here so stats() never makes a synchronous call into libtorrent.
        if (ls.socket_type == lt::socket_type_t::tcp) core.stats_.listen_port = ls.port;
        emit(EV_LISTEN, {}, ls.address.to_string(), ls.port, static_cast<int>(ls.socket_type));
    }

    void on(const lt::listen_failed_alert& lf) {
        emit(EV_LISTEN_FAILED, {}, lf.address.to_string() + ":" + std::to_string(lf.port) + ": " + lf.error.message());
    }

    void refused(const lt::tcp::endpoint& peer, PeerRefusal why) {
        emit(EV_PEER_REFUSED, {}, peer.address().to_string(), peer.port(), why);
    }

    void on(const lt::peer_blocked_alert& pb) {
        PeerRefusal why = REFUSED_IP_FILTER;
        switch (pb.reason) {
            case lt::peer_blocked_alert::ip_filter: why = REFUSED_IP_FILTER; break;
            case lt::peer_blocked_alert::port_filter: why = REFUSED_PORT_FILTER; break;
            case lt::peer_blocked_alert::i2p_mixed: why = REFUSED_I2P_MIXED; break;
            case lt::peer_blocked_alert::privileged_ports: why = REFUSED_PRIVILEGED_PORT; break;
            case lt::peer_blocked_alert::utp_disabled: why = REFUSED_UTP_DISABLED; break;
            case lt::peer_blocked_alert::tcp_disabled: why = REFUSED_TCP_DISABLED; break;
            case lt::peer_blocked_alert::invalid_local_interface: why = REFUSED_LOCAL_INTERFACE; break;
            case lt::peer_blocked_alert::ssrf_mitigation: why = REFUSED_SSRF; break;
            default: break;
        }
        refused(pb.endpoint, why);
    }

    void on(const lt::peer_ban_alert& pb) { refused(pb.endpoint, REFUSED_BANNED); }

    void on(const lt::session_stats_alert& ss) {
        auto c = ss.counters();
        auto at = [&](int idx) -> std::int64_t { return idx >= 0 ? c[idx] : 0; };
        SessionStats& s = core.stats_;
        std::int64_t now_us =
            std::chrono::duration_cast<std::chrono::microseconds>(ss.timestamp().time_since_epoch()).count();
        std::int64_t recv = at(core.idx_recv_payload_), sent = at(core.idx_sent_payload_);
        if (core.stats_ts_us_ > 0 && now_us > core.stats_ts_us_) {
            double dt = static_cast<double>(now_us - core.stats_ts_us_) / 1e6;
            s.download_rate = static_cast<std::int64_t>(static_cast<double>(recv - s.downloaded) / dt);
            s.upload_rate = static_cast<std::int64_t>(static_cast<double>(sent - s.uploaded) / dt);
        }
        core.stats_ts_us_ = now_us;
        s.downloaded = recv;
        s.uploaded = sent;
        s.downloaded_wire = at(core.idx_recv_);
        s.uploaded_wire = at(core.idx_sent_);
        s.dht_nodes = at(core.idx_dht_);
        s.peers_connected = at(core.idx_peers_);
    }
};

void Core::handle_alerts(std::vector<Event>& out) {
    Alerts handler{*this, *table_, out};
    std::vector<lt::alert*> alerts;
    for (;;) {
        ses_->pop_alerts(&alerts);
        if (alerts.empty()) break;
        for (lt::alert* a : alerts) handler.dispatch(a);
    }
    if (handler.refresh) ses_->post_torrent_updates();
}

}  // namespace revaer
