# Declarations of the C++ core (core.hpp), only what the module uses. Being _engine.pyx's own
# .pxd, its cpdef enums are exported to Python by name.
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool
from libcpp.string cimport string
from libcpp.utility cimport pair
from libcpp.vector cimport vector

from row cimport Row, RowPtr, row_changes


cdef extern from "core.hpp" nogil:
    # Named apart from the Python functions of the same job.
    int64_t _live_objects "revaer::live_objects"()
    string _lt_version "revaer::libtorrent_version"()


cdef extern from "core.hpp" namespace "revaer" nogil:
    cdef enum ErrorCode:
        ERR_OK
        ERR_INVALID
        ERR_NOT_FOUND
        ERR_DUPLICATE
        ERR_FAILED
        ERR_CLOSED

    # Exported to Python (revaer._engine.EventKind, and each member by name).
    cpdef enum EventKind:
        EV_ADDED
        EV_ADD_FAILED
        EV_STATE
        EV_COMPLETED
        EV_REMOVED
        EV_DATA_DELETED
        EV_ERROR
        EV_RESUME_DATA
        EV_RESUME_FAILED
        EV_METADATA
        EV_STORAGE_MOVED
        EV_STORAGE_MOVE_FAILED
        EV_LISTEN
        EV_LISTEN_FAILED
        EV_PEER_REFUSED

    cpdef enum PeerRefusal:
        REFUSED_BANNED
        REFUSED_IP_FILTER
        REFUSED_PORT_FILTER
        REFUSED_I2P_MIXED
        REFUSED_PRIVILEGED_PORT
        REFUSED_UTP_DISABLED
        REFUSED_TCP_DISABLED
        REFUSED_LOCAL_INTERFACE
        REFUSED_SSRF

    cpdef enum QueueOp:
        QUEUE_TOP
        QUEUE_BOTTOM
        QUEUE_UP
        QUEUE_DOWN

    int UNLIMITED

    cdef enum SettingKind "revaer::Setting::Kind":
        SETTING_STR "revaer::Setting::STR"
        SETTING_INT "revaer::Setting::INT"
        SETTING_BOOL "revaer::Setting::BOOL"

    cdef cppclass Error:
        int code
        string message


    cdef cppclass Event:
        int kind
        string info_hash
        string text
        string data
        int64_t a
        int64_t b

    cdef cppclass Setting:
        string name
        int kind
        string s
        int64_t i

    cdef cppclass AddSpec:
        string magnet
        string torrent
        string resume
        string save_path
        string name
        int paused
        int auto_managed
        int sequential
        int seed_mode
        int upload_limit
        int download_limit
        int max_connections
        vector[pair[int, string]] renamed_files

    cdef cppclass FileEntry:
        int index
        string path
        int64_t size
        int64_t done
        int priority
        int64_t offset

    cdef cppclass TrackerEntry:
        string url
        int tier
        int status
        int seeds
        int peers
        int leeches
        int downloaded
        string message

    cdef cppclass TorrentMeta:
        string comment
        string creator
        int64_t creation_date
        vector[string] web_seeds

    cdef cppclass PeerEntry:
        string ip
        int port
        string client
        string flags
        cbool utp
        double progress
        int64_t download_rate
        int64_t upload_rate
        int64_t downloaded
        int64_t uploaded

    cdef cppclass SessionStats:
        int64_t download_rate
        int64_t upload_rate
        int64_t downloaded
        int64_t uploaded
        int64_t downloaded_wire
        int64_t uploaded_wire
        int64_t dht_nodes
        int64_t peers_connected
        int num_torrents
        int listen_port

    cdef cppclass ResumeItem:
        string info_hash
        string data

    cdef cppclass Changes:
        int64_t version
        cbool resync
        vector[RowPtr] rows
        vector[string] removed


    cdef cppclass Core:
        Core() except +
        void start(const vector[Setting]& settings, Error& err) except +
        int fd()
        cbool closed()
        void apply_settings(const vector[Setting]& settings, Error& err) except +
        int listen_port(Error& err) except +
        string add(const AddSpec& spec, Error& err) except +
        void pause(const string& h, Error& err) except +
        void resume(const string& h, Error& err) except +
        void remove(const string& h, cbool with_data, Error& err) except +
        void recheck(const string& h, Error& err) except +
        void reannounce(const string& h, Error& err) except +
        void set_limits(const string& h, int upload, int download, Error& err) except +
        void set_max_connections(const string& h, int max_conns, Error& err) except +
        void set_sequential(const string& h, cbool on, Error& err) except +
        void queue(const string& h, int op, Error& err) except +
        void move_storage(const string& h, const string& path, cbool reset_only, Error& err) except +
        void save_resume(const string& h, Error& err) except +
        int save_resume_modified(cbool downloading_only) except +
        void connect_peer(const string& h, const string& ip, int port, Error& err) except +
        vector[FileEntry] files(const string& h, Error& err) except +
        void set_file_priorities(const string& h, const vector[pair[int, int]]& prios, Error& err) except +
        vector[TrackerEntry] trackers(const string& h, Error& err) except +
        string piece_states(const string& h, Error& err) except +
        vector[string] piece_hashes(const string& h, Error& err) except +
        void replace_trackers(const string& h, const vector[pair[string, int]]& trackers, Error& err) except +
        void rename_file(const string& h, int index, const string& path, Error& err) except +
        string torrent_file(const string& h, Error& err) except +
        TorrentMeta torrent_meta(const string& h, Error& err) except +
        vector[PeerEntry] peers(const string& h, Error& err) except +
        void set_super_seeding(const string& h, cbool on, Error& err) except +
        void set_banned(const vector[string]& addresses, Error& err) except +
        void set_first_last_priority(const string& h, cbool on, Error& err) except +
        SessionStats stats() except +
        void post_updates() except +
        void drain(vector[Event]& out) except +
        vector[RowPtr] snapshot() except +
        RowPtr get(const string& h) except +
        Changes changed_since(int64_t version) except +
        int64_t version()
        vector[ResumeItem] shutdown(int timeout_ms) except +
        cbool wait_closed(int timeout_ms) except +
