package broker

// ApiVersions, key 18, v0-v5.
//   v1-v2: throttle time.
//   v3: flexible; client software name and version; supported features.
//   v4: no change (KIP-511 follow-up).
//   v5: the client may name the cluster id and node id it expects; a
//   mismatch gets REBOOTSTRAP_REQUIRED (KIP-1242).
// An unknown (too new) version is answered with a v0 body carrying
// UNSUPPORTED_VERSION and the ranges, so the client can retry (KIP-511);
// see conn.handle.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func apiVersionKeys(controller bool) []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for _, k := range supportedKeys() {
		if controller && !controllerAPIs[k] {
			continue
		}
		a := apiTable[k]
		out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.min, MaxVersion: a.max})
	}
	return out
}

func handleAPIVersions(rc *reqCtx, req *kmsg.ApiVersionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && !validSoftware(req.ClientSoftwareName, req.ClientSoftwareVersion) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	if req.Version >= 5 && req.ClusterID != nil && req.NodeID >= 0 {
		b := rc.broker()
		if *req.ClusterID != b.clusterID() || req.NodeID != b.cfg.NodeID {
			resp.ErrorCode = kerr.RebootstrapRequired.Code
			return resp
		}
	}
	resp.ApiKeys = apiVersionKeys(rc.c.controller)
	if req.Version >= 3 && !rc.c.controller {
		// Features (KIP-584): transaction.version 2 tells Kafka 4
		// clients to use transactions V2 (KIP-890 part 2). The level
		// never changes, so its epoch is constant.
		resp.SupportedFeatures = []kmsg.ApiVersionsResponseSupportedFeature{{Name: "transaction.version", MinVersion: 0, MaxVersion: transactionVersion}}
		resp.FinalizedFeaturesEpoch = 1
		resp.FinalizedFeatures = []kmsg.ApiVersionsResponseFinalizedFeature{{Name: "transaction.version", MinVersionLevel: transactionVersion, MaxVersionLevel: transactionVersion}}
	}
	return resp
}

// validSoftware applies KIP-511's rule: names and versions are non-empty,
// start and end with a letter or digit, and hold only letters, digits,
// '.' and '-'.
func validSoftware(name, version string) bool {
	ok := func(s string) bool {
		if s == "" {
			return false
		}
		alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
		if !alnum(s[0]) || !alnum(s[len(s)-1]) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; !alnum(c) && c != '.' && c != '-' {
				return false
			}
		}
		return true
	}
	return ok(name) && ok(version)
}

// apiVersionsFallback is the v0 body sent for an ApiVersions version newer
// than we know.
func apiVersionsFallback(controller bool) []byte {
	resp := &kmsg.ApiVersionsResponse{Version: 0, ErrorCode: kerr.UnsupportedVersion.Code, ApiKeys: apiVersionKeys(controller)}
	return resp.AppendTo(nil)
}
