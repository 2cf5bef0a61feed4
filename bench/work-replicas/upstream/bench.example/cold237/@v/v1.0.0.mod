module bench.example/cold237

go 1.21
