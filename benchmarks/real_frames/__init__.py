"""Real sewer CCTV frames, labelled, to measure the pipe vision on (issue 21, item 1; docs/vision-real-frames.md).

``manifest`` reads and writes the set's ``manifest.jsonl``; ``sources`` says which public repositories the set
is drawn from and how their classes map to EN 13508-2 codes; ``build`` rebuilds the set from local mirrors of
those repositories; ``scoring`` turns what the vision found on each frame into figures. The images are never
part of this repository (their licences are unclear): only the code that rebuilds them and the figures.
"""
