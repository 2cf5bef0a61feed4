module bench.example/cold125

go 1.21
