module bench.example/cold96

go 1.21
