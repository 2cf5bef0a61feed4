module bench.example/cold284

go 1.21
