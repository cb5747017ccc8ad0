# /etc/nomadlike.d/client.hcl: a client agent on a host of the fleet
# (10.0.1.7 here). Check it with:
#   nomadlike agent validate /etc/nomadlike.d
region     = "global"
datacenter = "dc1"
data_dir   = "/var/lib/nomadlike"
bind_addr  = "0.0.0.0"
# name defaults to the hostname, which is what a fleet wants.

log_level            = "INFO"
log_file             = "/var/log/nomadlike/"
log_rotate_bytes     = 67108864
log_rotate_max_files = 7

advertise {
  http = "10.0.1.7"
}

client {
  enabled = true
  servers = ["10.0.0.1:4647", "10.0.0.2:4647", "10.0.0.3:4647"]
  # A token with node:write (nomadlike acl token create -policy node-write).
  token = "5d1ab7a8-0c5f-4bd1-9a1e-1a4c5bcb7c40"
  meta = {
    env = "prod"
  }

  host_metrics {
    interval = "10s"
  }
}

# Made by: nomadlike tls ca create (once), nomadlike tls cert create -client
tls {
  http = true
  rpc  = true
  verify_server_hostname = true
  ca_file   = "/etc/nomadlike.d/tls/nomadlike-agent-ca.pem"
  cert_file = "/etc/nomadlike.d/tls/global-client-nomadlike.pem"
  key_file  = "/etc/nomadlike.d/tls/global-client-nomadlike-key.pem"
}
