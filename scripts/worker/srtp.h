// Chorus: bridges mediasoup's libsrtp 3 (fork) API to Debian's libsrtp 2.x.
//
// Placed first on the worker's include path as <srtp.h> by
// scripts/mediasoup-worker.mjs when the worker is built offline against the
// system libraries. mediasoup's own sources stay untouched.
//
// Differences bridged:
// - libsrtp 3 protects from an input buffer into a separate output buffer with
//   size_t lengths; 2.x works in place with an int* length.
// - libsrtp 3 renamed srtp_remove_stream() to srtp_stream_remove().
// - libsrtp 3 adds two error codes that 2.x lacks.
#ifndef CHORUS_SRTP_BRIDGE_H
#define CHORUS_SRTP_BRIDGE_H

#include <srtp2/srtp.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

static constexpr srtp_err_status_t srtp_err_status_buffer_small =
  static_cast<srtp_err_status_t>(srtp_err_status_pkt_idx_adv + 1);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err =
  static_cast<srtp_err_status_t>(srtp_err_status_pkt_idx_adv + 2);

namespace chorus_srtp_bridge
{
	using InPlaceFn = srtp_err_status_t (*)(srtp_t, void*, int*);

	// Copies `in` into `out` (unless they are the same buffer), runs the in-place
	// 2.x function there and reports the resulting length. `growth` is how many
	// bytes the operation may append (the SRTP trailer when protecting).
	inline srtp_err_status_t run(
	  InPlaceFn fn,
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t inLen,
	  uint8_t* out,
	  size_t* outLen,
	  size_t growth)
	{
		if (inLen > static_cast<size_t>(INT_MAX) - growth)
			return srtp_err_status_bad_param;
		if (*outLen < inLen + growth)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len);

		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);

		return err;
	}
} // namespace chorus_srtp_bridge

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t /*mkiIndex*/)
{
	return chorus_srtp_bridge::run(
	  ::srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return chorus_srtp_bridge::run(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t /*mkiIndex*/)
{
	return chorus_srtp_bridge::run(
	  ::srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return chorus_srtp_bridge::run(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

#endif
