// Devices of bench/one-to-one.mjs: one entry and one socket per device of every user, and the
// optional once-a-second acks (--ack).
import { DeviceSocket, log, mapLimit } from "../lib.mjs";
import { onPush } from "./traffic.mjs";

/** Fills st.devices, st.devicesOfUser and st.userIds from `users`; opens every socket. */
export async function openDevices(st, url, users) {
  const { devices, devicesOfUser } = st;
  st.userIds = users.map((u) => u.userId);
  for (const user of users) {
    devicesOfUser.set(user.userId, []);
    for (const device of user.devices) {
      const dev = {
        index: devices.length,
        userId: user.userId,
        deviceId: device.deviceId,
        sock: null,
        seen: new Set(),
        pushedSeqs: [],
        ownSeqs: [],
        lastPushedSeq: 0,
        outOfOrder: 0,
        ackEnabled: st.opts.ack,
        ackDue: 0,
        acked: 0,
      };
      dev.sock = new DeviceSocket(url, device, {
        onPush: (message, recvAt, sock) => onPush(st, message, recvAt, sock),
        onClose: (_s, code, reason) => {
          if (!st.closing) {
            log(`socket of device ${device.deviceId} closed unexpectedly: ${code} ${reason}`);
            st.unexpectedCloses++;
          }
        },
      });
      dev.sock.bench = dev;
      devices.push(dev);
      devicesOfUser.get(user.userId).push(dev.index);
    }
  }
  await mapLimit(devices, 16, (dev) => dev.sock.open());
  log(`${devices.length} sockets open`);
}

/** With --ack: every device acks its highest pushed seq once a second. Resolves the timer or null. */
export function startAcks(st) {
  if (!st.opts.ack) {
    return null;
  }
  return setInterval(() => {
    for (const dev of st.devices) {
      if (dev.ackDue > dev.acked) {
        dev.sock.ack(dev.ackDue);
        dev.acked = dev.ackDue;
      }
    }
  }, 1000);
}
