"""``app/*``: the pinned identity (qBittorrent v4.6.7, WebAPI 2.9.3), build info, preferences,
default save path.

``app/preferences`` returns every key qBittorrent 4.6.7 returns. Where Revaer
has the feature the value comes from its configuration (rate and connection
limits, DHT, LSD, PeX, UPnP, the listen port, the download root, the WebUI
address and the localhost bypass); the rest are qBittorrent's defaults,
except that Revaer has no queueing and no share limits.
"""

from __future__ import annotations

import platform
import ssl
import zlib
from typing import Any

from aiohttp import web

from revaer._engine import libtorrent_version
from revaer.api.keys import CONFIG, TORRENTS
from revaer.api.qbittorrent.errors import text_response
from revaer.api.qbittorrent.preferences_write import PREFERENCES, from_config
from revaer.api.qbittorrent.reading import json_response
from revaer.config.listener import ConfigListener

VERSION = "v4.6.7"
WEBAPI_VERSION = "2.9.3"

# qBittorrent 4.6.7's preferences with its defaults (environment-specific ones blank).
DEFAULT_PREFERENCES: dict[str, Any] = {
    "add_trackers": "",
    "add_trackers_enabled": False,
    "alt_dl_limit": 10240,
    "alt_up_limit": 10240,
    "alternative_webui_enabled": False,
    "alternative_webui_path": "",
    "announce_ip": "",
    "announce_to_all_tiers": True,
    "announce_to_all_trackers": False,
    "anonymous_mode": False,
    "async_io_threads": 10,
    "auto_delete_mode": 0,
    "auto_tmm_enabled": False,
    "autorun_enabled": False,
    "autorun_on_torrent_added_enabled": False,
    "autorun_on_torrent_added_program": "",
    "autorun_program": "",
    "banned_IPs": "",
    "bittorrent_protocol": 0,
    "block_peers_on_privileged_ports": False,
    "bypass_auth_subnet_whitelist": "",
    "bypass_auth_subnet_whitelist_enabled": False,
    "bypass_local_auth": False,
    "category_changed_tmm_enabled": False,
    "checking_memory_use": 32,
    "connection_speed": 30,
    "current_interface_address": "",
    "current_network_interface": "",
    "dht": False,
    "disk_cache": -1,
    "disk_cache_ttl": 60,
    "disk_io_read_mode": 1,
    "disk_io_type": 0,
    "disk_io_write_mode": 1,
    "disk_queue_size": 1048576,
    "dl_limit": 0,
    "dont_count_slow_torrents": False,
    "dyndns_domain": "changeme.dyndns.org",
    "dyndns_enabled": False,
    "dyndns_password": "",
    "dyndns_service": 0,
    "dyndns_username": "",
    "embedded_tracker_port": 9000,
    "embedded_tracker_port_forwarding": False,
    "enable_coalesce_read_write": False,
    "enable_embedded_tracker": False,
    "enable_multi_connections_from_same_ip": False,
    "enable_piece_extent_affinity": False,
    "enable_upload_suggestions": False,
    "encryption": 0,
    "excluded_file_names": "",
    "excluded_file_names_enabled": False,
    "export_dir": "",
    "export_dir_fin": "",
    "file_pool_size": 5000,
    "hashing_threads": 1,
    "idn_support_enabled": False,
    "incomplete_files_ext": False,
    "ip_filter_enabled": False,
    "ip_filter_path": "",
    "ip_filter_trackers": False,
    "limit_lan_peers": True,
    "limit_tcp_overhead": False,
    "limit_utp_rate": True,
    "listen_port": 16881,
    "locale": "en",
    "lsd": False,
    "mail_notification_auth_enabled": False,
    "mail_notification_email": "",
    "mail_notification_enabled": False,
    "mail_notification_password": "",
    "mail_notification_sender": "qBittorrent_notification@example.com",
    "mail_notification_smtp": "smtp.changeme.com",
    "mail_notification_ssl_enabled": False,
    "mail_notification_username": "",
    "max_active_checking_torrents": 1,
    "max_active_downloads": 3,
    "max_active_torrents": 5,
    "max_active_uploads": 3,
    "max_concurrent_http_announces": 50,
    "max_connec": 500,
    "max_connec_per_torrent": 100,
    "max_inactive_seeding_time": -1,
    "max_inactive_seeding_time_enabled": False,
    "max_ratio": -1,
    "max_ratio_act": 0,
    "max_ratio_enabled": False,
    "max_seeding_time": -1,
    "max_seeding_time_enabled": False,
    "max_uploads": 20,
    "max_uploads_per_torrent": 4,
    "memory_working_set_limit": 512,
    "outgoing_ports_max": 0,
    "outgoing_ports_min": 0,
    "peer_tos": 4,
    "peer_turnover": 4,
    "peer_turnover_cutoff": 90,
    "peer_turnover_interval": 300,
    "performance_warning": False,
    "pex": False,
    "preallocate_all": False,
    "proxy_auth_enabled": False,
    "proxy_hostname_lookup": True,
    "proxy_ip": "0.0.0.0",
    "proxy_password": "",
    "proxy_peer_connections": False,
    "proxy_port": 8080,
    "proxy_torrents_only": False,
    "proxy_type": 0,
    "proxy_username": "",
    "queueing_enabled": True,
    "random_port": False,
    "reannounce_when_address_changed": False,
    "recheck_completed_torrents": False,
    "refresh_interval": 1500,
    "request_queue_size": 500,
    "resolve_peer_countries": True,
    "resume_data_storage_type": "Legacy",
    "rss_auto_downloading_enabled": False,
    "rss_download_repack_proper_episodes": True,
    "rss_max_articles_per_feed": 50,
    "rss_processing_enabled": False,
    "rss_refresh_interval": 30,
    "rss_smart_episode_filters": (
        "s(\\d+)e(\\d+)\n(\\d+)x(\\d+)\n(\\d{4}[.\\-]\\d{1,2}[.\\-]\\d{1,2})\n"
        "(\\d{1,2}[.\\-]\\d{1,2}[.\\-]\\d{4})"
    ),
    "save_path": "",
    "save_path_changed_tmm_enabled": False,
    "save_resume_data_interval": 60,
    "scan_dirs": {},
    "schedule_from_hour": 8,
    "schedule_from_min": 0,
    "schedule_to_hour": 20,
    "schedule_to_min": 0,
    "scheduler_days": 0,
    "scheduler_enabled": False,
    "send_buffer_low_watermark": 10,
    "send_buffer_watermark": 500,
    "send_buffer_watermark_factor": 50,
    "slow_torrent_dl_rate_threshold": 2,
    "slow_torrent_inactive_timer": 60,
    "slow_torrent_ul_rate_threshold": 2,
    "socket_backlog_size": 30,
    "ssrf_mitigation": True,
    "start_paused_enabled": False,
    "stop_tracker_timeout": 5,
    "temp_path": "",
    "temp_path_enabled": False,
    "torrent_changed_tmm_enabled": True,
    "torrent_content_layout": "Original",
    "torrent_stop_condition": "None",
    "up_limit": 0,
    "upload_choking_algorithm": 1,
    "upload_slots_behavior": 0,
    "upnp": False,
    "upnp_lease_duration": 0,
    "use_category_paths_in_manual_mode": False,
    "use_https": False,
    "utp_tcp_mixed_mode": 0,
    "validate_https_tracker_certificate": True,
    "web_ui_address": "127.0.0.1",
    "web_ui_ban_duration": 3600,
    "web_ui_clickjacking_protection_enabled": True,
    "web_ui_csrf_protection_enabled": True,
    "web_ui_custom_http_headers": "",
    "web_ui_domain_list": "*",
    "web_ui_host_header_validation_enabled": True,
    "web_ui_https_cert_path": "",
    "web_ui_https_key_path": "",
    "web_ui_max_auth_fail_count": 5,
    "web_ui_port": 18080,
    "web_ui_reverse_proxies_list": "",
    "web_ui_reverse_proxy_enabled": False,
    "web_ui_secure_cookie_enabled": True,
    "web_ui_session_timeout": 3600,
    "web_ui_upnp": False,
    "web_ui_use_custom_http_headers_enabled": False,
    "web_ui_username": "admin",
}


async def app_version(request: web.Request) -> web.Response:
    return text_response(VERSION)


async def webapi_version(request: web.Request) -> web.Response:
    return text_response(WEBAPI_VERSION)


def _openssl() -> str:
    parts = ssl.OPENSSL_VERSION.split()
    return parts[1] if len(parts) > 1 else ""


async def build_info(request: web.Request) -> web.Response:
    return json_response(
        {
            "bitness": 64 if platform.architecture()[0] == "64bit" else 32,
            "boost": "",
            "libtorrent": libtorrent_version(),
            "openssl": _openssl(),
            "qt": "",
            "zlib": zlib.ZLIB_RUNTIME_VERSION,
        }
    )


def default_save_path(request: web.Request) -> str:
    return str(request.config_dict[TORRENTS].download_root)


def _listen_port(interfaces: str) -> int:
    for part in interfaces.split(","):
        _, sep, port = part.strip().rstrip("s").rpartition(":")
        if sep and port.isdigit():
            return int(port)
    return 0


def preferences(root: str, listener: ConfigListener | None) -> dict[str, Any]:
    """The preferences as qBittorrent 4.6.7 names them, from Revaer's configuration."""
    prefs = dict(DEFAULT_PREFERENCES)
    prefs.update(
        save_path=root,
        temp_path=f"{root.rstrip('/')}/temp",
        queueing_enabled=False,
        auto_tmm_enabled=False,
    )
    if listener is None:
        return prefs
    config = listener.config
    e = config.engine
    s = e.settings
    td = config.torrent_defaults
    prefs.update(
        dht=e.dht,
        lsd=bool(s.get("enable_lsd", False)),
        pex=bool(s.get("enable_pex", False)),
        upnp=bool(s.get("enable_upnp", False)),
        dl_limit=e.download_limit,
        up_limit=e.upload_limit,
        alt_dl_limit=e.alt_download_limit,
        alt_up_limit=e.alt_upload_limit,
        max_connec=e.connections_limit,
        max_connec_per_torrent=td.max_conns if td.max_conns > 0 else -1,
        listen_port=_listen_port(e.listen_interfaces),
        anonymous_mode=bool(s.get("anonymous_mode", prefs["anonymous_mode"])),
        announce_to_all_tiers=bool(s.get("announce_to_all_tiers", prefs["announce_to_all_tiers"])),
        announce_to_all_trackers=bool(s.get("announce_to_all_trackers", prefs["announce_to_all_trackers"])),
        enable_multi_connections_from_same_ip=bool(
            s.get("allow_multiple_connections_per_ip", prefs["enable_multi_connections_from_same_ip"])
        ),
        bypass_local_auth=config.qbittorrent.bypass_localhost,
        web_ui_address=config.bind.host,
        web_ui_port=config.bind.port,
    )
    return prefs


async def app_preferences(request: web.Request) -> web.Response:
    download_root = request.config_dict[TORRENTS].download_root
    listener = request.config_dict.get(CONFIG)
    prefs = preferences(str(download_root), listener)
    kept = request.app.get(PREFERENCES)
    if kept is not None:
        # What a client set that Revaer has no setting for reads back as it was given...
        prefs.update((k, v) for k, v in kept.values.items() if k in prefs)
        prefs["queueing_enabled"] = kept.queueing_enabled
    if listener is not None:
        # ...and what maps to the config reads back the way setPreferences wrote it.
        prefs.update(from_config(listener.config, download_root))
    # The port actually open: libtorrent takes another one when the configured port is taken.
    open_port = request.config_dict[TORRENTS].stats().listen_port
    if open_port > 0:
        prefs["listen_port"] = open_port
    return json_response(prefs)


async def app_default_save_path(request: web.Request) -> web.Response:
    return text_response(default_save_path(request))
