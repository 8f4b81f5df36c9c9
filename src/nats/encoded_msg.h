#pragma once
// EncodedMsg: builds a publishable natsMsg from a header list and a body with ONE allocation
// (the NATS header block "NATS/1.0\r\nk: v\r\n...\r\n" encoded here, body appended), instead
// of cnats' public path (natsMsg_Create + one natsMsgHeader_Set per header: a hash insert and
// ~4 allocations each, freed later on cnats' GC thread). On the NATS push path this is ~10 % of
// the router's CPU per pushing decide (docs/PERFORMANCE.md, P5).
//
// The one-allocation path calls cnats' `natsMsg_create` (exported by libnats but declared only
// in its private msg.h; the constructor its parser uses for received messages, which keep the
// header block verbatim until a header is read). It is used only when
//   - the build found the symbol with the 3.x signature (CMake check, ROUTER_NATS_ENCODED_MSG),
//   - and the process-wide self-check passed: a message built that way reads back, through the
//     public natsMsgHeader_Get/natsMsg_GetData, exactly the headers and body it was given.
// Otherwise every message takes the public path. Both paths produce the same wire bytes.
//
// Header values: CR and LF become spaces (a header block cannot carry them; cnats' own encoder
// would emit a broken block). A header with an empty value is left out: cnats 3.4 readers
// (workers included) mis-parse "k: \r\n" and lose the header after it. Keys are the caller's
// (ASCII tokens). Needs nats_Open() first (messages are freed through cnats' GC thread).

#include <nats/nats.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace router::nats_adapter {

using EncodedHeaders = std::vector<std::pair<std::string, std::string>>;

// Writes to `out` (cleared first) the header block for `headers` (preceded by
// "Nats-Msg-Id: <msg_id>" when msg_id is non-empty and the list has no Nats-Msg-Id) and then
// `body`. Returns the header block's length.
size_t EncodeHeaderBlockAndBody(const EncodedHeaders& headers, std::string_view msg_id,
                                std::string_view body, std::string& out);

// Creates the message (subject must be non-empty; `reply` empty = no reply subject). NATS_OK
// or the cnats status; on failure *msg is null.
natsStatus CreateEncodedMsg(natsMsg** msg, const std::string& subject,
                            const EncodedHeaders& headers, std::string_view msg_id,
                            std::string_view body, const std::string& reply = std::string());

// True when CreateEncodedMsg uses the one-allocation path (build check and self-check passed).
bool EncodedMsgFastPath();

}  // namespace router::nats_adapter
