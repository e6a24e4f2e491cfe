// `room.seq` is the seq up to which we hold every change of the room, and
// `room.seqAbove` the changes we hold past it. A room's events can arrive out of
// order (each worker publishes its own), so resyncing from the highest seq seen
// could skip one still on its way.

export function holdSeq(room, seq) {
  if (seq == null || room.seq == null || seq <= room.seq) return;
  room.seqAbove.add(seq);
  advanceSeq(room);
}

// A join reply holds every change up to its `seq`.
export function coverSeq(room, seq) {
  room.seq = Math.max(room.seq ?? 0, seq);
  for (const s of room.seqAbove) if (s <= room.seq) room.seqAbove.delete(s);
  advanceSeq(room);
}

function advanceSeq(room) {
  while (room.seqAbove.delete(room.seq + 1)) room.seq += 1;
}
