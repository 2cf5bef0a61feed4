module bench.example/cold263

go 1.21
