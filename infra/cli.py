"""``vod``: run the embedded stack and talk to a running one.

vod local up                 run the embedded stack in the foreground (Ctrl-C stops it)
vod local reset              forget the embedded stack's data (videos, titles, objects...)
vod token --role R --sub S   print a bearer token from the local issuer
vod upload FILE --title T    create a video and upload FILE (--wait: until it settles)
vod status ID                show a video
vod play ID                  open a playback session: its signed URL, then `session <id>`
vod history                  your watch history, newest first (--continue: part-way through)
vod demo                     the whole path: stack, sample clip, upload, READY, signed URL
vod catalog rebuild          recompute the catalog's listing and search projections
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import requests

from functions.videos.logic import priority
from infra.local.keys import LocalIssuer, state_dir

TERMINAL = {"READY", "REJECTED", "FAILED", "DELETED"}
DEFAULT_API_PORT = 8080
DEFAULT_CDN_PORT = 8787


def _endpoints_file() -> Path:
    return state_dir() / "endpoints.json"


def _api_url(args: argparse.Namespace) -> str:
    if getattr(args, "api", None):
        return str(args.api).rstrip("/")
    if os.environ.get("VOD_API_URL"):
        return os.environ["VOD_API_URL"].rstrip("/")
    try:
        return str(json.loads(_endpoints_file().read_text())["api"])
    except (OSError, ValueError, KeyError):
        sys.exit("no running stack found: start one with `vod local up` (or pass --api URL)")


def _token(args: argparse.Namespace, role: str = "uploader", plans: tuple[str, ...] = ()) -> str:
    if getattr(args, "token", None):
        return str(args.token)
    return LocalIssuer().issue(sub=getattr(args, "sub", None) or "local-user", roles=[role, *plans])


def _headers(args: argparse.Namespace, role: str = "uploader", plans: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(args, role, plans)}"}


def _fail_on_error(resp: requests.Response) -> dict[str, Any]:
    try:
        body: dict[str, Any] = resp.json()
    except ValueError:
        body = {"error": {"code": "http_error", "message": resp.text}}
    if resp.status_code >= 400:
        err = body.get("error", {})
        sys.exit(f"error {resp.status_code}: {err.get('code')}: {err.get('message')}")
    return body


# -- commands ------------------------------------------------------------------------------------
def _quiet_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The functions' JSON logs and EMF metric lines drown a terminal: warnings only, unless
    --verbose asks for what CloudWatch would receive."""
    if getattr(args, "verbose", False):
        return {}
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    return {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def _start_stack(args: argparse.Namespace) -> Any:
    from infra.local.emulator import EmbeddedStack
    from infra.local.persist import SnapshotUnreadable, StateDirInUse

    stack = EmbeddedStack(
        host=args.host,
        moto_port=args.moto_port,
        api_port=args.api_port,
        cdn_port=args.cdn_port,
        overrides=_quiet_overrides(args),
        persistent=not args.ephemeral,
    )
    try:
        stack.start()
    except (StateDirInUse, SnapshotUnreadable) as exc:
        sys.exit(str(exc))
    _print_state(stack)
    return stack


def _print_state(stack: Any) -> None:
    """What the stack found in its state directory (infra/local/persist.py)."""
    data = stack.directory / "data"
    if not stack.persistent:
        print(f"state {data}: not used (--ephemeral): this run starts empty and keeps nothing", flush=True)
    else:
        print(f"state {data}: restored {stack.restored.summary()}", flush=True)
    if stack.removed_work:
        print(f"removed {len(stack.removed_work)} work folders the last run left behind", flush=True)
    for video_id in stack.recovered:
        print(
            f"video {video_id} was in flight when the last run stopped: FAILED (execution_aborted); "
            f"POST /v1/videos/{video_id}/retry re-runs it",
            flush=True,
        )


def cmd_local_up(args: argparse.Namespace) -> int:
    stack = _start_stack(args)
    return _serve_until_signal(stack, extra=None)


def _serve_until_signal(stack: Any, extra: Any) -> int:
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    _endpoints_file().write_text(
        json.dumps({"api": stack.api.url, "cdn": stack.edge.url, "aws": stack.moto_url})
    )
    print(f"API {stack.api.url}", flush=True)
    print(f"CDN {stack.edge.url}", flush=True)
    print(f"AWS {stack.moto_url}  (embedded moto; AWS_ENDPOINT_URL for the aws CLI)", flush=True)
    if extra:
        extra()
    print("serving; Ctrl-C to stop", flush=True)
    stop.wait()
    print("stopping", flush=True)
    stack.stop()
    _endpoints_file().unlink(missing_ok=True)
    return 0


def cmd_local_reset(args: argparse.Namespace) -> int:
    from infra.local.persist import StateDirInUse, reset

    try:
        removed = reset(state_dir())
    except StateDirInUse as exc:
        sys.exit(str(exc))
    print(f"removed {', '.join(removed)}" if removed else "nothing to remove")
    print("kept the local keys (tokens and signed URLs made with them still verify)")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    print(LocalIssuer().issue(sub=args.sub, roles=[args.role], ttl=args.ttl))
    return 0


def upload_file(
    api: str,
    headers: dict[str, str],
    path: Path,
    title: str,
    description: str = "",
    priority_class: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "title": title,
        "description": description,
        "size_bytes": path.stat().st_size or None,
    }
    if priority_class:
        request["priority_class"] = priority_class
    created = _fail_on_error(requests.post(f"{api}/v1/videos", json=request, headers=headers, timeout=30))
    upload = created["upload"]
    if upload["method"] == "PUT":
        with path.open("rb") as body:
            resp = requests.put(upload["url"], data=body, headers=upload["headers"], timeout=600)
        resp.raise_for_status()
    else:
        _multipart_upload(path, upload)
    return created


def _multipart_upload(path: Path, upload: dict[str, Any]) -> None:
    import base64
    import hashlib
    from xml.sax.saxutils import escape

    parts_xml = []
    with path.open("rb") as source:
        for part in upload["parts"]:
            chunk = source.read(upload["part_size"])
            checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            resp = requests.put(
                part["url"], data=chunk, headers={"x-amz-checksum-sha256": checksum}, timeout=600
            )
            resp.raise_for_status()
            parts_xml.append(
                f"<Part><PartNumber>{part['part_number']}</PartNumber><ETag>{escape(resp.headers['ETag'])}</ETag>"
                f"<ChecksumSHA256>{checksum}</ChecksumSHA256></Part>"
            )
    body = f"<CompleteMultipartUpload>{''.join(parts_xml)}</CompleteMultipartUpload>"
    requests.post(upload["complete_url"], data=body, timeout=60).raise_for_status()


def wait_until_settled(
    api: str, headers: dict[str, str], video_id: str, timeout: float = 1800
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        video = _fail_on_error(requests.get(f"{api}/v1/videos/{video_id}", headers=headers, timeout=30))
        line = _status_line(video)
        if line != last:
            print(line, flush=True)
            last = line
        if video["status"] in TERMINAL:
            return video
        time.sleep(0.5)
    sys.exit(f"video {video_id} did not settle within {timeout:.0f}s")


def _status_line(video: dict[str, Any]) -> str:
    line = f"{video['id']}  {video['status']}"
    progress = video.get("progress") or {}
    if video["status"] == "UPLOADED" and progress.get("stage") == "queued":
        line += f"  queued for a {video.get('priority_class', 'standard')} pipeline slot"
    if video["status"] == "PROCESSING" and progress:
        line += f"  {progress.get('stage')} {progress.get('percent', 0):.0f}%"
        if progress.get("eta_seconds"):
            line += f" (about {progress['eta_seconds']:.0f}s left)"
    if video.get("reason"):
        line += f"  reason={video['reason']}: {video.get('message')}"
    return line


def cmd_upload(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        sys.exit(f"no such file: {path}")
    api = _api_url(args)
    # A fresh local token for a class with a plan carries that plan's group (as Cognito would).
    plan = priority.class_of(args.priority_class).plan
    headers = _headers(args, plans=(plan,) if plan else ())
    created = upload_file(api, headers, path, args.title, args.description, args.priority_class)
    print(f"created {created['id']} ({created['status']}); uploaded {path.stat().st_size} bytes", flush=True)
    if args.wait:
        video = wait_until_settled(api, headers, created["id"])
        return 0 if video["status"] == "READY" else 1
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    api = _api_url(args)
    video = _fail_on_error(
        requests.get(f"{api}/v1/videos/{args.id}", headers=_headers(args, "admin"), timeout=30)
    )
    print(json.dumps(video, indent=2))
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    api = _api_url(args)
    body = _fail_on_error(
        requests.post(
            f"{api}/v1/videos/{args.id}/playback", headers=_headers(args, "admin"), json={}, timeout=30
        )
    )
    print(body["hls_url"])
    print(f"session {body['session_id']}")
    print(
        f"expires {body['expires_at']}; resume at {body['resume_position_seconds']} s; heartbeat every "
        f"{body['heartbeat_interval_seconds']} s to /v1/sessions/{body['session_id']}/heartbeat "
        f"with Authorization: Bearer {body['session_token']}",
        file=sys.stderr,
    )
    return 0


# -- video management (issue 13) -----------------------------------------------------------------
def list_my_videos(api: str, headers: dict[str, str], *, page_size: int = 100) -> list[dict[str, Any]]:
    """Every video of the caller, newest first, following the listing's cursors."""
    videos: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": str(page_size), **({"cursor": cursor} if cursor else {})}
        page = _fail_on_error(requests.get(f"{api}/v1/me/videos", headers=headers, params=params, timeout=30))
        videos += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return videos


def cmd_videos(args: argparse.Namespace) -> int:
    """``vod videos``: mine, one line each: id, status, title, created (tab-separated)."""
    for video in list_my_videos(_api_url(args), _headers(args)):
        print(f"{video['id']}\t{video['status']}\t{video['title']}\t{video['created_at']}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """``vod delete ID``: take the video down (owner, or ``--admin``); repeating it is harmless."""
    api = _api_url(args)
    headers = _headers(args, "admin" if args.admin else "uploader")
    video = _fail_on_error(requests.delete(f"{api}/v1/videos/{args.id}", headers=headers, timeout=30))
    was, by, at = video.get("previous_status"), video.get("deleted_by"), video.get("deleted_at")
    print(f"{video['id']}  {video['status']}  (was {was}; by {by} at {at})")
    return 0


def _history_line(entry: dict[str, Any]) -> str:
    duration = entry.get("duration_seconds")
    where = (
        f"{entry['position_seconds']:.0f}/{duration:.0f}s"
        if duration
        else f"{entry['position_seconds']:.0f}s"
    )
    percent = f" {entry['percentage']:.0f}%" if entry.get("percentage") is not None else ""
    title = entry.get("title") or {}
    name = title.get("name") or entry.get("video_title") or ""
    if title.get("season") is not None and title.get("episode") is not None:
        name += f" S{title['season']}E{title['episode']}"
    done = " (finished)" if entry.get("finished") else ""
    return f"{entry['watched_at']} {entry['video_id']} {where}{percent}{done} {name}".rstrip()


def cmd_history(args: argparse.Namespace) -> int:
    api = _api_url(args)
    path = "/v1/me/continue-watching" if args.continue_watching else "/v1/me/history"
    headers = _headers(args, "admin")
    if args.profile:
        headers["X-Profile-Id"] = args.profile
    cursor: str | None = None
    shown = 0
    while True:
        params: dict[str, Any] = {"limit": min(100, args.limit - shown)}
        if cursor:
            params["cursor"] = cursor
        page = _fail_on_error(requests.get(f"{api}{path}", headers=headers, params=params, timeout=30))
        for entry in page["items"]:
            print(_history_line(entry))
            shown += 1
        cursor = page.get("next_cursor")
        if not cursor or shown >= args.limit:
            return 0


def make_sample_clip(path: Path, *, seconds: int = 30, size: str = "1280x720", rate: int = 30) -> Path:
    """A test-pattern clip with a tone, from ffmpeg's own sources (no media files in the repo)."""
    subprocess.run(
        [
            "ffmpeg", "-y", "-v", "error",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def cmd_demo(args: argparse.Namespace) -> int:
    stack = _start_stack(args)

    def run_demo() -> None:
        assert stack.api is not None
        api = stack.api.url
        headers = {"Authorization": f"Bearer {stack.issuer.issue(sub='demo-user', roles=['uploader'])}"}
        with tempfile.TemporaryDirectory() as tmp:
            clip = make_sample_clip(Path(tmp) / "sample.mp4", seconds=args.seconds)
            print(
                f"generated {clip.name}: {args.seconds}s 1280x720 test pattern with a 440 Hz tone", flush=True
            )
            started = time.monotonic()
            created = upload_file(api, headers, clip, "Demo clip", "ffmpeg testsrc2 + sine")
        print(f"uploaded as {created['id']}", flush=True)
        video = wait_until_settled(api, headers, created["id"])
        elapsed = time.monotonic() - started
        if video["status"] != "READY":
            print(f"the demo video ended {video['status']}: {video.get('reason')}", flush=True)
            return
        renditions = ", ".join(f"{r['name']} {r['width']}x{r['height']}" for r in video["renditions"])
        print(f"READY in {elapsed:.1f}s: {renditions}", flush=True)
        play = _fail_on_error(
            requests.post(f"{api}/v1/videos/{created['id']}/playback", headers=headers, timeout=30)
        )
        print(f"PLAY {play['hls_url']}", flush=True)
        print(f"(signed; expires {play['expires_at']}; try: ffplay '{play['hls_url']}')", flush=True)

    return (
        _serve_until_signal(stack, extra=None if args.no_run else run_demo)
        if not args.exit
        else _demo_once(stack, run_demo)
    )


def _demo_once(stack: Any, run_demo: Any) -> int:
    print(f"API {stack.api.url}", flush=True)
    print(f"CDN {stack.edge.url}", flush=True)
    try:
        run_demo()
    finally:
        stack.stop()
    return 0


def cmd_catalog_rebuild(args: argparse.Namespace) -> int:
    """Runs here, against the running embedded stack's AWS endpoint (default) or, with
    --deployed, against AWS with the caller's credentials and CATALOG_TABLE/CATALOG_VIEWS_TABLE."""
    from dataclasses import asdict

    endpoint = args.endpoint
    if not endpoint and not args.deployed:
        try:
            endpoint = str(json.loads(_endpoints_file().read_text())["aws"])
        except (OSError, ValueError, KeyError):
            sys.exit("no running stack found: start `vod local up` (or pass --endpoint / --deployed)")
    if endpoint:
        from infra.local.emulator import BASE_ENV

        for key, value in BASE_ENV.items():
            os.environ.setdefault(key, value)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        # The embedded stack's table names (settings have no defaults for resources).
        from infra.local.provision import local_resources

        local = local_resources(cdn_base_url="", key_pair_id="")
        os.environ.setdefault("CATALOG_TABLE", local.catalog_table)
        os.environ.setdefault("CATALOG_VIEWS_TABLE", local.catalog_views_table)
    from functions.catalog.logic.projector import rebuild

    print(json.dumps(asdict(rebuild())))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vod", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def stack_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--api-port", type=int, default=DEFAULT_API_PORT)
        p.add_argument("--cdn-port", type=int, default=DEFAULT_CDN_PORT)
        p.add_argument("--moto-port", type=int, default=0, help="embedded AWS port (0: any free port)")
        p.add_argument("--verbose", action="store_true", help="show the functions' JSON logs and metrics")
        p.add_argument(
            "--ephemeral",
            action="store_true",
            help="start empty and keep nothing (default: keep the data in the state directory)",
        )

    local = sub.add_parser("local", help="the embedded stack")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    up = local_sub.add_parser("up", help="run the embedded stack in the foreground")
    stack_options(up)
    up.set_defaults(func=cmd_local_up)
    local_reset = local_sub.add_parser(
        "reset", help="forget the stack's data (not running): videos, titles, objects, work folders"
    )
    local_reset.set_defaults(func=cmd_local_reset)

    token = sub.add_parser("token", help="print a bearer token from the local issuer")
    token.add_argument("--role", default="uploader", choices=["admin", "uploader", "viewer"])
    token.add_argument("--sub", default="local-user")
    token.add_argument("--ttl", type=int, default=12 * 3600)
    token.set_defaults(func=cmd_token)

    def client_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--api", help="API base URL (default: the running `vod local up`)")
        p.add_argument("--token", help="bearer token (default: a fresh local one)")
        p.add_argument("--sub", default="local-user", help="subject of the local token")

    upload = sub.add_parser("upload", help="create a video and upload a file")
    upload.add_argument("file")
    upload.add_argument("--title", required=True)
    upload.add_argument("--description", default="")
    upload.add_argument("--wait", action="store_true", help="wait until READY/REJECTED/FAILED")
    upload.add_argument(
        "--priority-class",
        choices=[c.name for c in priority.CLASSES],
        default=None,
        help="processing class (default standard; priority needs the priority plan)",
    )
    client_options(upload)
    upload.set_defaults(func=cmd_upload)

    status = sub.add_parser("status", help="show a video")
    status.add_argument("id")
    client_options(status)
    status.set_defaults(func=cmd_status)

    play = sub.add_parser("play", help="open a playback session: print its signed URL and `session <id>`")
    play.add_argument("id")
    client_options(play)
    play.set_defaults(func=cmd_play)

    videos = sub.add_parser("videos", help="list my videos: id, status, title, created")
    client_options(videos)
    videos.set_defaults(func=cmd_videos)

    delete = sub.add_parser("delete", help="take a video down (its media are purged; the record stays)")
    delete.add_argument("id")
    delete.add_argument("--admin", action="store_true", help="as an admin (any owner's video)")
    client_options(delete)
    delete.set_defaults(func=cmd_delete)
    history = sub.add_parser("history", help="your watch history, newest first")
    history.add_argument("--continue", dest="continue_watching", action="store_true", help="part-way only")
    history.add_argument("--profile", help="viewer profile id (X-Profile-Id)")
    history.add_argument("--limit", type=int, default=50)
    client_options(history)
    history.set_defaults(func=cmd_history)

    demo = sub.add_parser("demo", help="stack + sample clip + upload + READY + signed URL")
    stack_options(demo)
    demo.add_argument("--seconds", type=int, default=30)
    demo.add_argument("--exit", action="store_true", help="stop after printing the URL (for scripts)")
    demo.add_argument("--no-run", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(func=cmd_demo)

    catalog = sub.add_parser("catalog", help="catalog maintenance")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    rebuild = catalog_sub.add_parser("rebuild", help="recompute the listing and search projections")
    rebuild.add_argument("--endpoint", help="AWS endpoint (default: the running `vod local up`)")
    rebuild.add_argument("--deployed", action="store_true", help="AWS itself (credentials from the env)")
    rebuild.set_defaults(func=cmd_catalog_rebuild)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
