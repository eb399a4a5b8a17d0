/** pb.LogicExt: devices, send, friends and groups. Methods not listed answer `unimplemented`. */
import { encode } from "../../proto/codec";
import { ErrorCode } from "../../proto/codes";
import { AppError, unwrap } from "../../proto/errors";
import { pb } from "../../proto/gen/pb.js";
import { unary, type Service } from "../connect-rpc";
import { registerDevice, setPushId } from "../db/devices";
import { userInbox } from "../stubs";
import { friendMethods } from "./friends";
import { groupMethods } from "./groups";
import { roomMethods } from "./rooms";

const DEVICE_FIELD_MAX_CHARS = 64;

export const logicExt: Service = {
  RegisterDevice: unary({
    request: pb.RegisterDeviceReq,
    response: pb.RegisterDeviceResp,
    auth: "none",
    async handle(c, req) {
      if (!(req.type >= 1 && req.type <= 5)) {
        throw new AppError(ErrorCode.BAD_REQUEST, "type must be 1 (Android), 2 (iOS), 3 (Windows), 4 (MacOS) or 5 (Web)");
      }
      for (const [field, value] of [
        ["brand", req.brand],
        ["model", req.model],
        ["system_version", req.systemVersion],
        ["sdk_version", req.sdkVersion],
      ] as const) {
        if (!value || value.length > DEVICE_FIELD_MAX_CHARS) {
          throw new AppError(ErrorCode.BAD_REQUEST, `${field} is required (at most ${DEVICE_FIELD_MAX_CHARS} characters)`);
        }
      }
      if (req.brandPushId.length > 512) {
        throw new AppError(ErrorCode.BAD_REQUEST, "brand_push_id is longer than 512 characters");
      }
      return { deviceId: await registerDevice(c.env.DB, req) };
    },
  }),
  UpdateDevicePushId: unary({
    request: pb.UpdateDevicePushIdReq,
    response: pb.Empty,
    auth: "verify",
    async handle(c, req, caller) {
      if (req.brandPushId.length > 512) {
        throw new AppError(ErrorCode.BAD_REQUEST, "brand_push_id is longer than 512 characters");
      }
      await setPushId(c.env.DB, caller.deviceId, req.brandPushId);
      await userInbox(c.env, caller.userId).setPushId(caller.deviceId, req.brandPushId);
      return {};
    },
  }),
  SendMessage: unary({
    request: pb.SendMessageReq,
    response: pb.SendMessageResp,
    auth: "verify",
    async handle(c, req, caller) {
      const result = await userInbox(c.env, caller.userId).sendMessage(caller.deviceId, encode(pb.SendMessageReq, req));
      return { seq: unwrap(result) };
    },
  }),
  ...friendMethods,
  ...groupMethods,
  ...roomMethods,
};
