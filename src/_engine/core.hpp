// The engine's C++ core: one libtorrent session, an alert drain that copies
// everything it needs into plain structs, and the status table fed by
// state_update_alert. Nothing here touches Python; the Cython layer calls
// these methods with the GIL released.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "counted.hpp"
#include "row.hpp"

namespace libtorrent {
struct peer_info;
struct session;
struct torrent_handle;
}  // namespace libtorrent

namespace revaer {

enum ErrorCode : int {
    ERR_OK = 0,
    ERR_INVALID = 1,    // the caller's input is wrong (bad magnet, corrupt .torrent, bad setting)
    ERR_NOT_FOUND = 2,  // no torrent with that info-hash
    ERR_DUPLICATE = 3,  // the torrent is already in the session
    ERR_FAILED = 4,     // libtorrent refused the operation
    ERR_CLOSED = 5,     // the engine has been closed
};

// Known to Cython by name (_engine.pxd): the extension maps each to one exception.
struct Error {
    int code = ERR_OK;
    std::string message;
    void set(int c, std::string m) {
        code = c;
        message = std::move(m);
    }
};

// What drain() reports; declared by name in _engine.pxd and exported to Python (0 is no event).
// EV_PEER_REFUSED: text is the peer's address, a its port, b a PeerRefusal.
enum EventKind : int {
    EV_ADDED = 1, EV_ADD_FAILED, EV_STATE, EV_COMPLETED, EV_REMOVED, EV_DATA_DELETED, EV_ERROR,
    EV_RESUME_DATA, EV_RESUME_FAILED, EV_METADATA, EV_STORAGE_MOVED, EV_STORAGE_MOVE_FAILED,
    EV_LISTEN, EV_LISTEN_FAILED, EV_PEER_REFUSED,
};

// Why a peer was refused (EV_PEER_REFUSED): banned for bad data, or blocked before connecting.
enum PeerRefusal : int {
    REFUSED_BANNED, REFUSED_IP_FILTER, REFUSED_PORT_FILTER, REFUSED_I2P_MIXED, REFUSED_PRIVILEGED_PORT,
    REFUSED_UTP_DISABLED, REFUSED_TCP_DISABLED, REFUSED_LOCAL_INTERFACE, REFUSED_SSRF,
};

// How queue() moves a torrent.
enum QueueOp : int {
    QUEUE_TOP = 0,
    QUEUE_BOTTOM = 1,
    QUEUE_UP = 2,
    QUEUE_DOWN = 3,
};

// An alert, copied out of libtorrent's memory inside drain().
struct Event {
    int kind = 0;
    std::string info_hash;
    std::string text;  // name, message, path
    std::string data;  // bencoded resume data
    std::int64_t a = 0;
    std::int64_t b = 0;
};

struct Setting {
    enum Kind : int { STR = 0, INT = 1, BOOL = 2 };
    std::string name;
    int kind = STR;
    std::string s;
    std::int64_t i = 0;
};

// A per-torrent limit that does not limit (libtorrent's own -1; revaer.engine.protocol.UNLIMITED).
constexpr int UNLIMITED = -1;

// Trackers one torrent may bring (revaer.engine.protocol.MAX_TRACKERS says the same). libtorrent's
// add costs its network thread time quadratic in the tracker count (10,000 trackers: ~30 s, during
// which every synchronous call into the session waits); 500 is far above any real torrent.
constexpr std::size_t MAX_TRACKERS = 500;

struct AddSpec {
    std::string magnet;
    std::string torrent;  // .torrent bytes (with `resume`: the file it was saved without)
    std::string resume;   // bencoded resume data
    std::string save_path;
    std::string name;
    int paused = -1;  // -1 keep (resume data), 0 started, 1 paused
    int auto_managed = 0;
    int sequential = -1;
    int seed_mode = 0;  // skip the hash check
    int upload_limit = UNLIMITED;
    int download_limit = UNLIMITED;
    int max_connections = UNLIMITED;
    // Files laid out under other paths than the .torrent's (index, path relative to the save path).
    std::vector<std::pair<int, std::string>> renamed_files;
};

struct FileEntry {
    int index = 0;
    std::string path;
    std::int64_t size = 0;
    std::int64_t done = 0;
    int priority = 0;
    std::int64_t offset = 0;
};

struct TrackerEntry {
    std::string url;
    int tier = 0;
    int status = 0;  // 0 disabled, 1 not contacted, 2 working, 3 updating, 4 not working
    int seeds = -1;
    int peers = -1;
    int leeches = -1;
    int downloaded = -1;
    std::string message;
};

// What a torrent's .torrent says beyond the info dictionary the row carries.
struct TorrentMeta {
    std::string comment;
    std::string creator;
    std::int64_t creation_date = -1;  // epoch seconds, -1 unknown
    std::vector<std::string> web_seeds;  // the .torrent's and any added since
};

// One connected peer of a torrent (qBittorrent's sync/torrentPeers entry).
struct PeerEntry {
    PeerEntry() = default;
    explicit PeerEntry(const libtorrent::peer_info& p);  // edits.cpp

    std::string ip;
    int port = 0;
    std::string client;
    std::string flags;  // qBittorrent's letters
    bool utp = false;
    double progress = 0;
    std::int64_t download_rate = 0;  // payload bytes/s
    std::int64_t upload_rate = 0;
    std::int64_t downloaded = 0;
    std::int64_t uploaded = 0;
};

struct SessionStats {
    std::int64_t download_rate = 0;  // payload bytes/s
    std::int64_t upload_rate = 0;
    std::int64_t downloaded = 0;  // payload bytes this session
    std::int64_t uploaded = 0;
    std::int64_t downloaded_wire = 0;  // all bytes this session, protocol included
    std::int64_t uploaded_wire = 0;
    std::int64_t dht_nodes = 0;
    std::int64_t peers_connected = 0;
    int num_torrents = 0;
    int listen_port = 0;
};

struct ResumeItem {
    std::string info_hash;
    std::string data;
};

struct Changes {
    std::int64_t version = 0;
    bool resync = false;  // the caller's version is older than the tombstones kept
    std::vector<RowPtr> rows;
    std::vector<std::string> removed;
};

std::string libtorrent_version();

struct Entry;
class StatusTable;

class Core {
public:
    Core();
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    void start(const std::vector<Setting>& settings, Error& err);
    int fd() const { return fd_; }
    bool closed() const { return closed_.load(); }
    void apply_settings(const std::vector<Setting>& settings, Error& err);
    int listen_port(Error& err);

    std::string add(const AddSpec& spec, Error& err);
    void pause(const std::string& h, Error& err);
    void resume(const std::string& h, Error& err);
    void remove(const std::string& h, bool with_data, Error& err);
    void recheck(const std::string& h, Error& err);
    void reannounce(const std::string& h, Error& err);
    void set_limits(const std::string& h, int upload, int download, Error& err);
    void set_max_connections(const std::string& h, int max_conns, Error& err);
    void set_sequential(const std::string& h, bool on, Error& err);
    void queue(const std::string& h, int op, Error& err);  // a QueueOp
    void move_storage(const std::string& h, const std::string& path, bool reset_only, Error& err);
    void save_resume(const std::string& h, Error& err);
    // Resume data of the torrents changed since their last save; with `downloading_only`, of
    // those still downloading only (the frequent save that bounds what a crash costs).
    int save_resume_modified(bool downloading_only);
    void connect_peer(const std::string& h, const std::string& ip, int port, Error& err);
    std::vector<FileEntry> files(const std::string& h, Error& err);
    void set_file_priorities(const std::string& h, const std::vector<std::pair<int, int>>& prios,
                             Error& err);
    std::vector<TrackerEntry> trackers(const std::string& h, Error& err);
    // One byte per piece: 0 missing, 1 being downloaded, 2 on disk; empty without metadata.
    std::string piece_states(const std::string& h, Error& err);
    // The v1 SHA-1 hash of every piece, 40 hex each; empty without metadata or for v2-only torrents.
    std::vector<std::string> piece_hashes(const std::string& h, Error& err);
    // Edits and reads of one torrent (edits.cpp).
    // The whole tracker list (url, tier) in order; the row's tracker fields at once.
    void replace_trackers(const std::string& h, const std::vector<std::pair<std::string, int>>& trackers,
                          Error& err);
    // Renames (or moves, within the torrent) file `index` to the relative `path`, in the background.
    void rename_file(const std::string& h, int index, const std::string& path, Error& err);
    // The .torrent file (its info dictionary as added, the current trackers and web seeds).
    std::string torrent_file(const std::string& h, Error& err);
    TorrentMeta torrent_meta(const std::string& h, Error& err);
    std::vector<PeerEntry> peers(const std::string& h, Error& err);
    void set_super_seeding(const std::string& h, bool on, Error& err);
    // The session's IP filter: exactly these addresses blocked (their connections closed).
    void set_banned(const std::vector<std::string>& addresses, Error& err);
    // The first and last piece of each wanted file at the top priority (qBittorrent's option).
    void set_first_last_priority(const std::string& h, bool on, Error& err);
    SessionStats stats();

    void post_updates();
    void drain(std::vector<Event>& out);
    std::vector<RowPtr> snapshot();
    RowPtr get(const std::string& h);
    Changes changed_since(std::int64_t version);
    std::int64_t version();

    // Saves resume data for every torrent (up to timeout_ms), then asks the session
    // to shut down: libtorrent's teardown (trackers told, files closed) goes on in a
    // thread of its own. Blocks while saving: call it without the GIL, off the event loop.
    std::vector<ResumeItem> shutdown(int timeout_ms);
    // After shutdown(): whether libtorrent's teardown finished within timeout_ms
    // (true at once when it has; the destructor waits for it in any case).
    bool wait_closed(int timeout_ms);

private:
    friend struct Alerts;  // alerts.cpp: one handler per alert type
    Entry* find(const std::string& h, Error& err);
    void handle_alerts(std::vector<Event>& out);
    bool settle_handle(Entry& e, const std::string& h);
    // Under the lock: runs f(entry) on the torrent `h`, or sets `err`.
    template <typename F>
    void act(const std::string& h, Error& err, F&& f);
    // Under the lock, the handle of `h`, for a query that then runs without the lock.
    bool copy_handle(const std::string& h, Error& err, libtorrent::torrent_handle& out);
    // A query of one torrent: its handle copied under the lock, then f(handle) without it (defined
    // in lt_util.hpp). A torrent removed meanwhile is not found, as it would be after.
    template <typename F>
    auto query(const std::string& h, Error& err, F&& f)
        -> decltype(f(std::declval<libtorrent::torrent_handle&>()));
    // Under the lock: lets torrents stopped by a full disk download again once their save path
    // has room (libtorrent only retries auto-managed torrents, after 10 minutes).
    void retry_disk_full();

    std::unique_ptr<libtorrent::session> ses_;
    std::unique_ptr<StatusTable> table_;
    std::mutex mu_;
    int fd_ = -1;
    // Written by shutdown() under mu_, read without it by closed() (from Python, any thread).
    std::atomic<bool> closed_{false};
    // The teardown started by shutdown(), and its end.
    std::thread teardown_;
    std::shared_future<void> torn_down_;
    SessionStats stats_;
    std::int64_t stats_ts_us_ = 0;
    int idx_recv_payload_ = -1, idx_sent_payload_ = -1, idx_recv_ = -1, idx_sent_ = -1, idx_dht_ = -1,
        idx_peers_ = -1;
};

}  // namespace revaer
