// The connection the app talks through: whichever transport main.js connected
// (transport/index.js). Its interface: isOpen, emit(event, data),
// request(event, data) -> Promise of the ack's data.
export let conn = null;

export function useConnection(transport) {
  conn = transport;
}
