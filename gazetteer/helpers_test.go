package gazetteer

import (
	"crypto/sha256"
	"encoding/binary"
)

func binary64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
