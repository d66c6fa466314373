#include "cluster_flags.h"

#include "raft/configuration.h"

namespace example {

std::set<std::string> cluster_flag_names() { return {"--conf", "--timeout-ms"}; }

raft::Result<ClusterFlags> parse_cluster_flags(const FlagParser& parser) {
  ClusterFlags flags;
  raft::Result<std::string> conf_text = parser.required("--conf");
  if (!conf_text.ok()) return conf_text.status();
  raft::Result<raft::Configuration> conf = raft::Configuration::parse(*conf_text);
  if (!conf.ok()) {
    return raft::Status::InvalidArgument("--conf: '" + *conf_text +
                                         "': " + std::string(conf.status().message()));
  }
  for (const raft::PeerId& peer : conf->peers()) flags.endpoints.push_back(peer.endpoint());

  raft::Result<int64_t> timeout = parser.integer("--timeout-ms", 10000, 1, 3600 * 1000);
  if (!timeout.ok()) return timeout.status();
  flags.timeout_ms = *timeout;
  return flags;
}

}  // namespace example
