/** Connect protocol error bodies: `{"code", "message"}` plus gim's numeric code as `gimCode`. */
import { codeInfo } from "./codes";

export interface ConnectErrorBody {
  code: string;
  message: string;
  gimCode: number;
}

export function connectErrorBody(code: number, message: string): ConnectErrorBody {
  return { code: codeInfo(code).connect, message, gimCode: code };
}

export function connectErrorResponse(code: number, message: string): Response {
  return new Response(JSON.stringify(connectErrorBody(code, message)), {
    status: codeInfo(code).httpStatus,
    headers: { "content-type": "application/json" },
  });
}
