"""Packaging and publishing of videos: ffmpeg → HLS ladder → media bucket → catalog row."""
