# Declarations of the C++ core (core.hpp). Only what the module uses.
from libc.stdint cimport int64_t
from libcpp cimport bool
from libcpp.memory cimport shared_ptr
from libcpp.string cimport string
from libcpp.utility cimport pair
from libcpp.vector cimport vector


cdef extern from "core.hpp" namespace "revaer" nogil:
    cdef cppclass Error:
        int code
        string message

    cdef cppclass Row:
        int64_t version
        string info_hash
        string info_hash_v2
        string name
        string save_path
        string current_tracker
        string error
        int64_t total_size
        int64_t total_wanted
        int64_t total_done
        int64_t total_wanted_done
        double progress
        int64_t downloaded_session
        int64_t uploaded_session
        int64_t downloaded_total
        int64_t uploaded_total
        int64_t download_rate
        int64_t upload_rate
        int num_peers
        int num_seeds
        int list_peers
        int list_seeds
        int num_complete
        int num_incomplete
        double availability
        bool paused
        bool auto_managed
        bool sequential
        bool super_seeding
        bool has_metadata
        bool is_finished
        bool is_seeding
        bool moving_storage
        bool need_save_resume
        bool upload_mode
        bool is_private
        int queue_position
        int upload_limit
        int download_limit
        int max_connections
        int64_t added_time
        int64_t completed_time
        int64_t last_activity
        int64_t last_seen_complete
        int64_t active_duration
        int64_t seeding_duration
        int64_t finished_duration
        int num_trackers
        int piece_length
        int num_pieces
        int pieces_have
        int num_files
        int state
        int lt_state

    ctypedef shared_ptr[const Row] RowPtr

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
        bool resync
        vector[RowPtr] rows
        vector[string] removed

    int64_t live_objects()
    string libtorrent_version()

    cdef cppclass Core:
        Core() except +
        void start(const vector[Setting]& settings, Error& err) except +
        int fd()
        bool closed()
        void apply_settings(const vector[Setting]& settings, Error& err) except +
        int listen_port(Error& err) except +
        string add(const AddSpec& spec, Error& err) except +
        void pause(const string& h, Error& err) except +
        void resume(const string& h, Error& err) except +
        void remove(const string& h, bool with_data, Error& err) except +
        void recheck(const string& h, Error& err) except +
        void reannounce(const string& h, Error& err) except +
        void set_limits(const string& h, int upload, int download, Error& err) except +
        void set_max_connections(const string& h, int max_conns, Error& err) except +
        void set_sequential(const string& h, bool on, Error& err) except +
        void queue(const string& h, int op, Error& err) except +
        void move_storage(const string& h, const string& path, bool reset_only, Error& err) except +
        void save_resume(const string& h, Error& err) except +
        int save_resume_modified() except +
        void connect_peer(const string& h, const string& ip, int port, Error& err) except +
        vector[FileEntry] files(const string& h, Error& err) except +
        void set_file_priorities(const string& h, const vector[pair[int, int]]& prios, Error& err) except +
        vector[TrackerEntry] trackers(const string& h, Error& err) except +
        string piece_states(const string& h, Error& err) except +
        vector[string] piece_hashes(const string& h, Error& err) except +
        SessionStats stats() except +
        void post_updates() except +
        void drain(vector[Event]& out) except +
        vector[RowPtr] snapshot() except +
        RowPtr get(const string& h) except +
        Changes changed_since(int64_t version) except +
        int64_t version()
        vector[ResumeItem] shutdown(int timeout_ms) except +
