# Sourced by the lab scripts: run a command in a namespace, and remove
# namespaces made by the script (their processes are ended first).
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_remove() {
    local ns
    for ns in "$@"; do
        if ip netns list | grep -qw "$ns"; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null; sleep 0.2
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
            ip netns del "$ns"
        fi
    done
}
