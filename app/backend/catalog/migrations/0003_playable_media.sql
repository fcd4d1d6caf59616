-- Media of a video: the version of its published HLS package, under
-- /media/<id>/<media_version>/ (master.m3u8, poster.jpg). NULL = nothing to play.
-- Publishing writes the row only after every object is uploaded, so a
-- non-NULL version always points at a complete package.
ALTER TABLE videos
    ADD COLUMN media_version text CHECK (media_version ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    ADD COLUMN media_published_at timestamptz;
