/**
 * Sockets are served without permessage-deflate, whatever the client offers (browsers and the
 * `ws` package offer it). Compression keeps a zlib state per socket, measured at ~210 KB in
 * workerd (10,000 browser sockets: 2 GB more), and compresses every frame once per socket, so a
 * room broadcast is compressed once for each of its thousands of sockets; IM frames are small
 * protobuf messages, which deflate barely shrinks. Socket.IO and Centrifugo default to off too.
 *
 * How: the runtime negotiates with the client when the Worker's 101 response reaches the
 * client, and a response with a `Sec-WebSocket-Extensions` header that is not a valid
 * permessage-deflate configuration agrees to no extension. (An empty value would say the same,
 * but is lost when another Worker proxies the socket, as Miniflare's entry Worker did locally;
 * the `no_web_socket_compression` flag likewise applies only to the Worker that answers the
 * client. This header works either way, so it holds whoever stands in front.)
 */
export function withoutCompression(res: Response): Response {
  if (!res.webSocket) {
    return res; // an error answer, not an upgrade
  }
  return new Response(null, { status: 101, webSocket: res.webSocket, headers: { "Sec-WebSocket-Extensions": "none" } });
}
