// The engine's C++ core: one libtorrent session, an alert drain that copies
// everything it needs into plain structs, and the status table fed by
// state_update_alert. Nothing here touches Python; the Cython layer calls
// these methods with the GIL released.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace libtorrent {
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

struct Error {
    int code = ERR_OK;
    std::string message;
    void set(int c, std::string m) {
        code = c;
        message = std::move(m);
    }
};

// Revaer's own torrent states (mirrored by revaer.engine.protocol.TorrentState).
enum State : int {
    ST_QUEUED = 0,
    ST_CHECKING = 1,
    ST_DOWNLOADING = 2,
    ST_SEEDING = 3,
    ST_PAUSED = 4,
    ST_STALLED = 5,
    ST_ERROR = 6,
    ST_COMPLETED = 7,
    ST_MOVING = 8,
};

// Raw libtorrent torrent_status::state_t values, copied so the Cython side
// never includes libtorrent headers.
enum LtState : int {
    LT_CHECKING_FILES = 1,
    LT_DOWNLOADING_METADATA = 2,
    LT_DOWNLOADING = 3,
    LT_FINISHED = 4,
    LT_SEEDING = 5,
    LT_CHECKING_RESUME_DATA = 7,
};

// Counts live native objects (rows, cores) so tests can assert nothing leaked.
struct Counted {
    Counted() noexcept;
    Counted(const Counted&) noexcept;
    Counted& operator=(const Counted&) noexcept { return *this; }
    ~Counted();
};

// One torrent's status. Rows are immutable once published: an update makes a
// new Row, so a snapshot is a vector of shared pointers and costs no copies.
struct Row {
    std::int64_t version = 0;
    std::string info_hash;     // 40 hex, lower case (v1, or truncated v2)
    std::string info_hash_v2;  // 64 hex or empty
    std::string name;
    std::string save_path;
    std::string current_tracker;
    std::string error;
    std::int64_t total_size = 0;  // bytes of all files (pad files excluded)
    std::int64_t total_wanted = 0;
    std::int64_t total_done = 0;
    std::int64_t total_wanted_done = 0;
    double progress = 0.0;
    std::int64_t downloaded_session = 0;
    std::int64_t uploaded_session = 0;
    std::int64_t downloaded_total = 0;
    std::int64_t uploaded_total = 0;
    std::int64_t download_rate = 0;  // payload bytes/s
    std::int64_t upload_rate = 0;
    int num_peers = 0;  // connected, seeds included
    int num_seeds = 0;  // connected seeds
    int list_peers = 0;
    int list_seeds = 0;
    int num_complete = -1;    // swarm seeds from the tracker, -1 unknown
    int num_incomplete = -1;  // swarm leechers from the tracker, -1 unknown
    double availability = -1.0;
    int lt_state = 0;
    int state = ST_QUEUED;
    bool paused = false;
    bool auto_managed = false;
    bool sequential = false;
    bool super_seeding = false;
    bool has_metadata = false;
    bool is_finished = false;
    bool is_seeding = false;
    bool moving_storage = false;
    bool need_save_resume = false;
    bool upload_mode = false;
    bool is_private = false;
    int queue_position = -1;
    int upload_limit = -1;  // bytes/s, -1 unlimited
    int download_limit = -1;
    int max_connections = -1;
    std::int64_t added_time = 0;  // POSIX seconds, 0 never
    std::int64_t completed_time = 0;
    std::int64_t last_activity = 0;
    std::int64_t last_seen_complete = 0;
    std::int64_t active_duration = 0;  // seconds
    std::int64_t seeding_duration = 0;
    std::int64_t finished_duration = 0;
    int num_trackers = 0;
    int piece_length = 0;
    int num_pieces = 0;  // total pieces in the torrent
    int pieces_have = 0;
    int num_files = 0;
    Counted counted_;
};

using RowPtr = std::shared_ptr<const Row>;

enum EventKind : int {
    EV_ADDED = 1,
    EV_ADD_FAILED = 2,
    EV_STATE = 3,
    EV_COMPLETED = 4,
    EV_REMOVED = 5,
    EV_DATA_DELETED = 6,
    EV_ERROR = 7,
    EV_RESUME_DATA = 8,
    EV_RESUME_FAILED = 9,
    EV_METADATA = 10,
    EV_STORAGE_MOVED = 11,
    EV_STORAGE_MOVE_FAILED = 12,
    EV_LISTEN = 13,
    EV_LISTEN_FAILED = 14,
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
    std::string name;
    int kind = 0;  // 0 str, 1 int, 2 bool
    std::string s;
    std::int64_t i = 0;
};

struct AddSpec {
    std::string magnet;
    std::string torrent;  // .torrent bytes
    std::string resume;   // bencoded resume data
    std::string save_path;
    std::string name;
    int paused = -1;  // -1 keep (resume data), 0 started, 1 paused
    int auto_managed = 0;
    int sequential = -1;
    int seed_mode = 0;  // skip the hash check
    int upload_limit = -1;
    int download_limit = -1;
    int max_connections = -1;
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

std::int64_t live_objects();
std::string libtorrent_version();

class Core {
public:
    Core();
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    void start(const std::vector<Setting>& settings, Error& err);
    int fd() const { return fd_; }
    bool closed() const { return closed_; }
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
    void queue(const std::string& h, int op, Error& err);  // 0 top, 1 bottom, 2 up, 3 down
    void move_storage(const std::string& h, const std::string& path, bool reset_only, Error& err);
    void save_resume(const std::string& h, Error& err);
    int save_resume_modified();
    void connect_peer(const std::string& h, const std::string& ip, int port, Error& err);
    std::vector<FileEntry> files(const std::string& h, Error& err);
    void set_file_priorities(const std::string& h, const std::vector<std::pair<int, int>>& prios,
                             Error& err);
    std::vector<TrackerEntry> trackers(const std::string& h, Error& err);
    // One byte per piece: 0 missing, 1 being downloaded, 2 on disk; empty without metadata.
    std::string piece_states(const std::string& h, Error& err);
    // The v1 SHA-1 hash of every piece, 40 hex each; empty without metadata or for v2-only torrents.
    std::vector<std::string> piece_hashes(const std::string& h, Error& err);
    SessionStats stats();

    void post_updates();
    void drain(std::vector<Event>& out);
    std::vector<RowPtr> snapshot();
    RowPtr get(const std::string& h);
    Changes changed_since(std::int64_t version);
    std::int64_t version();

    // Saves resume data for every torrent (up to timeout_ms), then shuts the
    // session down. Blocks: call it without the GIL, off the event loop.
    std::vector<ResumeItem> shutdown(int timeout_ms);

private:
    struct Entry;
    Entry* find(const std::string& h, Error& err);
    void publish(Entry& e, Row&& row);
    void handle_alerts(std::vector<Event>& out);
    void drop(const std::string& h);
    void unlink(Entry& e);

    std::unique_ptr<libtorrent::session> ses_;
    std::unordered_map<std::string, std::unique_ptr<Entry>> table_;
    // The entries in the order their rows were last published, newest last, so
    // changed_since() visits only the changed rows.
    Entry* oldest_ = nullptr;
    Entry* newest_ = nullptr;
    std::vector<std::pair<std::int64_t, std::string>> tombstones_;
    std::int64_t tomb_floor_ = 0;
    std::int64_t version_ = 0;
    std::mutex mu_;
    int fd_ = -1;
    bool closed_ = false;
    SessionStats stats_;
    std::int64_t stats_ts_us_ = 0;
    int idx_recv_payload_ = -1, idx_sent_payload_ = -1, idx_recv_ = -1, idx_sent_ = -1, idx_dht_ = -1,
        idx_peers_ = -1;
};

}  // namespace revaer
