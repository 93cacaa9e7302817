// The Row builders: every field of a status row is filled here and nowhere else.
#include <algorithm>
#include <chrono>

#include "lt_util.hpp"

namespace revaer {

namespace {

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

void add_tracker(Row& row, const std::string& url) {
    if (url.empty() || std::find(row.tracker_urls.begin(), row.tracker_urls.end(), url) != row.tracker_urls.end())
        return;
    row.tracker_urls.push_back(url);
    row.num_trackers = static_cast<int>(row.tracker_urls.size());
}

// Where a torrent's error happened, for its message: ": <file>" (absolute, as users find it),
// or what libtorrent's special file indices stand for.
std::string error_place(const lt::torrent_status& st, const lt::torrent_info* ti) {
    const lt::file_index_t f = st.error_file;
    if (f >= lt::file_index_t(0)) {
        if (!ti || f >= ti->files().end_file()) return {};
        return ": " + st.save_path + "/" + ti->files().file_path(f);
    }
    if (f == lt::torrent_status::error_file_ssl_ctx) return " (SSL context)";
    if (f == lt::torrent_status::error_file_metadata) return " (metadata)";
    if (f == lt::torrent_status::error_file_exception) return " (exception)";
    if (f == lt::torrent_status::error_file_partfile)
        return ": " + st.save_path + "/." + key_of(st.info_hashes) + ".parts (part file)";
    return {};
}

}  // namespace

// Trackers are captured where they enter a torrent (the add: magnet tr=, .torrent announce
// list, resume data; and the info dictionary when a magnet's metadata arrives), not asked of
// libtorrent per listing: torrent_status has no tracker list and torrent_handle::trackers() is
// a synchronous round trip to libtorrent's thread, the very call the table exists to avoid.
// Revaer has no command that edits a torrent's trackers, so these points are all there are.
void fill_metadata(Row& row, const lt::torrent_info& ti) {
    row.name = ti.name();
    row.has_metadata = true;
    row.total_size = ti.total_size();
    row.piece_length = ti.piece_length();
    row.num_pieces = ti.num_pieces();
    row.num_files = ti.num_files();
    row.is_private = ti.priv();
    for (const auto& ae : ti.trackers()) add_tracker(row, ae.url);
}

Row row_from_params(const lt::add_torrent_params& atp, const std::string& key, bool auto_managed) {
    Row row;
    row.info_hash = key;
    row.info_hash_v2 = v2_of(atp.ti ? atp.ti->info_hashes() : atp.info_hashes);
    row.name = atp.name.empty() ? key : atp.name;
    for (const auto& url : atp.trackers) add_tracker(row, url);
    if (atp.ti) {
        fill_metadata(row, *atp.ti);
        row.total_wanted = row.total_size;
    }
    row.save_path = atp.save_path;
    row.paused = bool(atp.flags & lt::torrent_flags::paused);
    row.auto_managed = auto_managed;
    row.sequential = bool(atp.flags & lt::torrent_flags::sequential_download);
    row.state = row.paused ? (auto_managed ? ST_QUEUED : ST_PAUSED) : ST_CHECKING;
    row.checking_resume_data = true;
    row.upload_limit = limit_or_unlimited(atp.upload_limit);
    row.download_limit = limit_or_unlimited(atp.download_limit);
    row.max_connections = limit_or_unlimited(atp.max_connections);
    row.added_time = atp.added_time > 0 ? atp.added_time : posix_now();
    row.completed_time = atp.completed_time;
    row.downloaded_total = atp.total_downloaded;
    row.uploaded_total = atp.total_uploaded;
    return row;
}

Row row_from_status(const lt::torrent_status& st, const Row& old) {
    // Start from the previous row: what the status does not carry (the v2 hash once known, the
    // limits this engine set, the trackers) stays as it was.
    Row row = old;
    if (row.info_hash_v2.empty()) row.info_hash_v2 = v2_of(st.info_hashes);
    auto ti = st.torrent_file.lock();
    if (ti && ti->is_valid()) fill_metadata(row, *ti);
    if (!st.name.empty()) row.name = st.name;
    row.save_path = st.save_path;
    row.current_tracker = st.current_tracker;
    row.error.clear();
    if (st.errc) row.error = st.errc.message() + error_place(st, ti.get());
    if (st.total > 0 || !row.has_metadata) row.total_size = st.total;
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
    row.checking_resume_data = st.state == lt::torrent_status::checking_resume_data;
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
    row.added_time = st.added_time;
    row.completed_time = st.completed_time;
    row.last_seen_complete = st.last_seen_complete;
    row.last_activity = std::max(to_posix(st.last_upload), to_posix(st.last_download));
    row.active_duration = st.active_duration.count();
    row.seeding_duration = st.seeding_duration.count();
    row.finished_duration = st.finished_duration.count();
    row.pieces_have = st.num_pieces;
    return row;
}

}  // namespace revaer
