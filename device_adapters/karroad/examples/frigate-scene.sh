#!/usr/bin/env bash
# A dumping scene published with mosquitto_pub exactly as a Frigate server publishes it (docs/incidents.md),
# times relative to now so the incident rule sees it as it happens:
#   a van (taken for a false positive at first, then confirmed, a plate read) stops and leaves; a person
#   unloads; a couch is left 10 minutes ago and is still there (its update sent twice: a duplicate); a bag
#   Frigate never confirms (a false positive); a passer-by on the pavement; the couch's snapshot, retained.
# Usage: frigate-scene.sh GATEWAY PASSWORD CAMERA_NAME [SNAPSHOT.jpg] [HOST] [PORT]
# Expected: one incident on the camera mapped to CAMERA_NAME (the couch), with the van and the person as
# context; the bag and the passer-by in no incident.
set -euo pipefail
gw=$1 password=$2 camera=$3
snapshot=${4:-$(dirname "$0")/../testdata/valid_frigate_snapshot/payload.jpg}
host=${5:-127.0.0.1} port=${6:-18830}
now=$(date +%s)
tag=$(printf '%06x' $((RANDOM * RANDOM % 16777216)))

pub() { mosquitto_pub -h "$host" -p "$port" -u "$gw" -P "$password" -i "$gw" -q 1 "$@"; }

# state ID LABEL X1 Y1 X2 Y2 START FRAME END FALSE_POSITIVE STATIONARY ZONE PLATE: Frigate's to_dict()
state() {
  local end=$9 plate=${13}
  [ "$end" = null ] || end=$((now - end))
  [ "$plate" = null ] || plate="\"$plate\""
  local zones="[\"${12}\"]"
  [ "$end" = null ] || zones="[]"  # an ended object is in no zone any more; it entered one
  printf '{"id":"%s","camera":"%s","frame_time":%s,"snapshot":{"frame_time":%s,"box":[%s,%s,%s,%s],"area":1,"region":[0,0,320,320],"score":0.8,"attributes":[]},"label":"%s","sub_label":null,"top_score":0.86,"false_positive":%s,"start_time":%s,"end_time":%s,"score":0.84,"box":[%s,%s,%s,%s],"area":1,"ratio":1.0,"region":[0,0,320,320],"active":%s,"stationary":%s,"motionless_count":%s,"position_changes":1,"current_zones":%s,"entered_zones":["%s"],"has_clip":false,"has_snapshot":true,"attributes":{},"current_attributes":[],"pending_loitering":false,"max_severity":"detection","recognized_license_plate":%s}' \
    "$1" "$camera" "$((now - $8))" "$((now - $8))" "$3" "$4" "$5" "$6" "$2" "${10}" "$((now - $7))" "$end" \
    "$3" "$4" "$5" "$6" "$([ "${11}" = true ] && echo false || echo true)" "${11}" \
    "$([ "${11}" = true ] && echo 200 || echo 0)" "$zones" "${12}" "$plate"
}
event() {  # TYPE STATE: {"type", "before", "after"} (before: the same object, as Frigate sends it)
  printf '{"type":"%s","before":%s,"after":%s}' "$1" "$2" "$2"
}

van="$((now - 700)).100000-v$tag" person="$((now - 690)).200000-p$tag" couch="$((now - 600)).300000-c$tag"
bag="$((now - 300)).400000-b$tag" passer="$((now - 200)).500000-w$tag"
pub -t "karroad/$gw/available" -m online -r
pub -t "karroad/$gw/events" -m "$(event update "$(state "$van" car 300 280 700 560 700 699 null true false collection_point null)")"
pub -t "karroad/$gw/events" -m "$(event new "$(state "$van" car 300 280 700 560 700 695 null false false collection_point AB-123-CD)")"
pub -t "karroad/$gw/events" -m "$(event new "$(state "$person" person 720 300 780 460 690 680 null false false collection_point null)")"
pub -t "karroad/$gw/events" -m "$(event end "$(state "$van" car 300 280 700 560 700 640 640 false true collection_point AB-123-CD)")"
pub -t "karroad/$gw/events" -m "$(event end "$(state "$person" person 720 300 780 460 690 620 620 false false collection_point null)")"
pub -t "karroad/$gw/events" -m "$(event new "$(state "$couch" couch 610 390 800 541 600 598 null false false collection_point null)")"
still=$(event update "$(state "$couch" couch 610 390 800 541 600 5 null false true collection_point null)")
pub -t "karroad/$gw/events" -m "$still"
pub -t "karroad/$gw/events" -m "$still"  # a duplicate
pub -t "karroad/$gw/events" -m "$(event update "$(state "$bag" bag 100 500 160 560 300 290 null true true collection_point null)")"
pub -t "karroad/$gw/events" -m "$(event new "$(state "$passer" person 40 250 80 380 200 195 null false false pavement null)")"
pub -t "karroad/$gw/events" -m "$(event end "$(state "$passer" person 40 250 80 380 200 185 185 false false pavement null)")"
pub -t "karroad/$gw/$camera/couch/snapshot" -f "$snapshot" -r
echo "published: van $van, person $person, couch $couch, bag $bag (false positive), passer-by $passer"
