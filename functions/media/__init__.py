"""Media tools shared by the pipeline and moderation: running ffmpeg/ffprobe (protocol whitelist,
time budget, process groups), probe results, the step's work directory, object storage helpers and
codec strings. It knows no domain: it imports only ``functions.shared``."""
