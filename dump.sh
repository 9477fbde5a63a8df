db=$1
for t in events rules sites unexpected violations nat_changes summaries unknown_sites site_sensors counters; do echo "== $t"; sqlite3 "$db" "SELECT * FROM $t ORDER BY 1" ; done
echo "== flow_ids"; sqlite3 "$db" "SELECT site, ts, flow_id FROM flow_ids ORDER BY 1,2,3"
echo "== nat_ids"; sqlite3 "$db" "SELECT site, aor, call_id, cseq, sensor, epoch FROM nat_ids ORDER BY 1,2,3,4"
echo "== sensors"; sqlite3 "$db" "SELECT sensor, state, received, duplicates, missing, rejected, out_of_order, flows_repeated, nat_changes_repeated, events_repeated FROM sensors"
echo "== alerts"; sqlite3 "$db" "SELECT id, kind, json_remove(body, '$.raised_us') FROM alerts ORDER BY id"
