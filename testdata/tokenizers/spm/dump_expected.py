import sentencepiece as spm, json, sys
for name in sys.argv[1:]:
    sp = spm.SentencePieceProcessor()
    sp.Load(name + ".model")
    pieces = []
    for i in range(sp.GetPieceSize()):
        t = 1
        if sp.IsUnknown(i): t = 2
        elif sp.IsControl(i): t = 3
        elif sp.IsUnused(i): t = 5
        elif sp.IsByte(i): t = 6
        pieces.append([sp.IdToPiece(i), sp.GetScore(i), t])
    out = {"source": "sentencepiece %s (Debian python3-sentencepiece), SentencePieceProcessor on %s.model" % (spm.__version__, name),
           "unk_id": sp.unk_id(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": sp.pad_id(),
           "pieces": pieces}
    json.dump(out, open(name + ".expected.json", "w"), ensure_ascii=False, indent=0)
    print(name, len(pieces), pieces[:5], sp.encode("Hello <|user|> wörld", out_type=str) if name.startswith("bpe") else "")
