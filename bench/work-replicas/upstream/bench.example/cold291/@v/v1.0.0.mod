module bench.example/cold291

go 1.21
