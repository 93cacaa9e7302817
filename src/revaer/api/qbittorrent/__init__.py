"""The qBittorrent-compatible ``/api/v2``: identity pinned to qBittorrent v4.6.7, WebAPI 2.9.3.

Every endpoint of the façade is declared here, in two tables: reads (GET, and POST with the
parameters in the body) and actions (POST only). Handler modules hold handlers and nothing that
registers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

from revaer.api.keys import LISTING, RESPONSES
from revaer.api.qbittorrent import (
    actions,
    add,
    app_routes,
    auth,
    categories,
    details,
    edits,
    info,
    locations,
    log,
    network,
    preferences_write,
    rss,
    search,
    sync,
    transfer,
)
from revaer.api.qbittorrent.extras import EXTRAS, TorrentExtras
from revaer.api.qbittorrent.extras_store import persist
from revaer.api.qbittorrent.keys import SESSIONS
from revaer.api.qbittorrent.listing import Listing
from revaer.api.qbittorrent.preferences_write import PREFERENCES, QbPreferences
from revaer.api.qbittorrent.routes import Handler, add_routes
from revaer.api.qbittorrent.session import Sessions

READS: Final[Mapping[str, Handler]] = {
    "/app/version": app_routes.app_version,
    "/app/webapiVersion": app_routes.webapi_version,
    "/app/buildInfo": app_routes.build_info,
    "/app/preferences": app_routes.app_preferences,
    "/app/defaultSavePath": app_routes.app_default_save_path,
    "/app/networkInterfaceList": network.network_interface_list,
    "/app/networkInterfaceAddressList": network.network_interface_address_list,
    "/torrents/info": info.torrents_info,
    "/torrents/properties": details.torrent_properties,
    "/torrents/files": details.torrent_files,
    "/torrents/trackers": details.torrent_trackers,
    "/torrents/webseeds": details.torrent_webseeds,
    "/torrents/pieceStates": details.torrent_piece_states,
    "/torrents/pieceHashes": details.torrent_piece_hashes,
    "/torrents/count": edits.count,
    "/torrents/export": edits.export,
    "/torrents/uploadLimit": actions.upload_limit,
    "/torrents/downloadLimit": actions.download_limit,
    "/torrents/categories": categories.categories,
    "/torrents/tags": categories.tags,
    "/sync/maindata": sync.maindata,
    "/sync/torrentPeers": sync.torrent_peers,
    "/transfer/info": transfer.transfer_info,
    "/transfer/downloadLimit": transfer.download_limit,
    "/transfer/uploadLimit": transfer.upload_limit,
    "/transfer/speedLimitsMode": transfer.speed_limits_mode,
    "/search/status": search.status,
    "/search/results": search.by_id,
    "/search/plugins": search.plugins,
    # ---- log and RSS ----
    "/log/main": log.main,
    "/log/peers": log.peers,
    "/rss/items": rss.items,
    "/rss/matchingArticles": rss.matching_articles,
    "/rss/rules": rss.rules,
}

ACTIONS: Final[Mapping[str, Handler]] = {
    "/auth/login": auth.login,
    "/auth/logout": auth.logout,
    "/app/setPreferences": preferences_write.set_preferences,
    "/torrents/add": add.add,
    "/torrents/delete": actions.delete,
    "/torrents/pause": actions.pause,
    "/torrents/stop": actions.pause,
    "/torrents/resume": actions.resume,
    "/torrents/start": actions.resume,
    "/torrents/recheck": actions.recheck,
    "/torrents/reannounce": actions.reannounce,
    "/torrents/setForceStart": actions.set_force_start,
    "/torrents/setSuperSeeding": actions.set_super_seeding,
    "/torrents/toggleSequentialDownload": actions.toggle_sequential,
    "/torrents/toggleFirstLastPiecePrio": actions.toggle_first_last,
    "/torrents/setShareLimits": actions.set_share_limits,
    "/torrents/setUploadLimit": actions.set_upload_limit,
    "/torrents/setDownloadLimit": actions.set_download_limit,
    "/torrents/setLocation": actions.set_location,
    "/torrents/setSavePath": locations.set_save_path,
    "/torrents/setDownloadPath": locations.set_download_path,
    "/torrents/setAutoManagement": locations.set_auto_management,
    "/torrents/rename": actions.rename,
    "/torrents/filePrio": actions.file_prio,
    "/torrents/addTrackers": edits.add_trackers,
    "/torrents/editTracker": edits.edit_tracker,
    "/torrents/removeTrackers": edits.remove_trackers,
    "/torrents/addPeers": edits.add_peers,
    "/torrents/renameFile": edits.rename_file,
    "/torrents/renameFolder": edits.rename_folder,
    "/torrents/topPrio": actions.top_prio,
    "/torrents/bottomPrio": actions.bottom_prio,
    "/torrents/increasePrio": actions.increase_prio,
    "/torrents/decreasePrio": actions.decrease_prio,
    "/torrents/createCategory": categories.create_category,
    "/torrents/editCategory": categories.edit_category,
    "/torrents/removeCategories": categories.remove_categories,
    "/torrents/setCategory": categories.set_category,
    "/torrents/createTags": categories.create_tags,
    "/torrents/deleteTags": categories.delete_tags,
    "/torrents/addTags": categories.add_tags,
    "/torrents/removeTags": categories.remove_tags,
    "/transfer/setDownloadLimit": transfer.set_download_limit,
    "/transfer/setUploadLimit": transfer.set_upload_limit,
    "/transfer/toggleSpeedLimitsMode": transfer.toggle_speed_limits_mode,
    "/transfer/setSpeedLimitsMode": transfer.set_speed_limits_mode,
    "/transfer/banPeers": transfer.ban_peers,
    "/search/start": search.start,
    "/search/stop": search.by_id,
    "/search/delete": search.by_id,
    "/search/installPlugin": search.manage_plugins,
    "/search/uninstallPlugin": search.manage_plugins,
    "/search/enablePlugin": search.manage_plugins,
    "/search/updatePlugins": search.manage_plugins,
    # ---- RSS ----
    "/rss/addFeed": rss.add_feed,
    "/rss/addFolder": rss.add_folder,
    "/rss/markAsRead": rss.mark_as_read,
    "/rss/moveItem": rss.move_item,
    "/rss/refreshItem": rss.refresh_item,
    "/rss/removeItem": rss.remove_item,
    "/rss/removeRule": rss.remove_rule,
    "/rss/renameRule": rss.rename_rule,
    "/rss/setFeedURL": rss.set_feed_url,
    "/rss/setRule": rss.set_rule,
}


def build_qbittorrent(
    client_max_size: int = 10 * 1024 * 1024 + 64 * 1024, sessions: Sessions | None = None
) -> web.Application:
    """The ``/api/v2`` sub-app; the services it uses are on the root app (``revaer.app.build_app``).

    The sub-app owns the façade's own state: web sessions, the listing ``torrents/info`` shares
    with ``sync/maindata`` and its response cache, the qBittorrent-only per-torrent settings and
    the preferences kept for clients.
    """
    app = web.Application(middlewares=[auth.qb_guard, persist], client_max_size=client_max_size)
    app[SESSIONS] = sessions or Sessions()
    app[RESPONSES] = info.ResponseCache()
    app[LISTING] = Listing()
    app[EXTRAS] = TorrentExtras()
    app[PREFERENCES] = QbPreferences()
    add_routes(app.router, reads=READS, actions=ACTIONS)
    return app
