module bench.example/cold145

go 1.21
