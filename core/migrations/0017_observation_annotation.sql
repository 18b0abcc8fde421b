-- depends: 0016_vision
-- An observation's annotated copy of its best frame: the region outlined and the code written on it, a
-- separate medium (the frame itself is never altered), served like any medium of the drone's family.
ALTER TABLE observations ADD COLUMN annotated_sha256 text;
