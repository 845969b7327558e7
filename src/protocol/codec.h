/* codec.h - the Kafka protocol codec: wire primitives, the arena decoded
 * messages live in, and the generated message structs, functions and API
 * table (documented in protocol/generated/messages.h). */
#ifndef EDDY_PROTOCOL_CODEC_H
#define EDDY_PROTOCOL_CODEC_H

#include "protocol/wire.h"
#include "util/arena.h"
#include "protocol/generated/messages.h"

#endif
